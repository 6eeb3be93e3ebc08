//! Deployments end to end against a separate `pqap sim`: upload, deploy with
//! parameters and limits (refusals named), hot reload through `pqap deploy
//! --env` while another strategy trades, rollback of a version that cannot
//! start, a panicking version quarantined with alerts, deleting components,
//! and a restart that runs what was deployed.

mod common;

use std::net::SocketAddr;
use std::process::Command;

use common::server::*;
use pqap::strategy::build::GuestTarget;

#[test]
fn deploys_hot_reloads_rolls_back_and_restarts_with_what_was_deployed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("prod.db");
    let v1 = market_maker_copy(dir.path(), "0.1.0");
    let v1_bytes = std::fs::read(&v1).unwrap();
    let hostile = common::guest("tests/guests/hostile", GuestTarget::UnknownUnknown);
    let mm = common::guest("strategies/market-maker", GuestTarget::UnknownUnknown);
    admin(
        &["user", "add", "ada", "--role", "admin"],
        &db,
        Some("admin password 123"),
    );
    admin(
        &["user", "add", "olive", "--role", "operator"],
        &db,
        Some("operator password 1"),
    );
    let ad_token = admin(&["token", "create", "ada"], &db, None);
    let op_token = admin(&["token", "create", "olive"], &db, None);
    let (ad, op) = (Some(ad_token.as_str()), Some(op_token.as_str()));
    let get = |addr: SocketAddr, path: &str| json(&call(addr, "GET", path, ad, "").1);
    // A separate `pqap sim` is the venue; the market maker from the command
    // line is the strategy that keeps trading.
    let (_sim, venue) = start_sim();
    let webhook = start_receiver();
    let (guard, addr) = start_serve_with(
        &[mm.to_str().unwrap()],
        &db,
        dir.path(),
        Some(venue),
        &[("PQAP_ALERTS_WEBHOOK_URL", webhook.url.as_str())],
    );
    let strategy = |addr: SocketAddr, name: &str| {
        get(addr, "/api/v1/strategies")
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .cloned()
    };
    let applied = |addr: SocketAddr, id: i64| {
        wait_for(20, "deployment applied", || {
            let d = get(addr, &format!("/api/v1/deployments/{id}"));
            (d["status"] == "applied").then_some(d)
        })
    };

    // Upload v1, deploy it with a parameter; refusals are named and audited.
    let (code, body) = upload(addr, ad, &v1_bytes);
    assert_eq!(code, 201, "{body}");
    let sha1 = json(&body)["sha256"].as_str().unwrap().to_string();
    let deploy = |name: &str, body: &str, token: Option<&str>| {
        call(
            addr,
            "POST",
            &format!("/api/v1/strategies/{name}/deploy"),
            token,
            body,
        )
    };
    let good = format!(
        r#"{{"sha256":"{sha1}","params":{{"quote_size":"10"}},"limits":{{"max_open_orders":8}}}}"#
    );
    assert_eq!(deploy("mm_e2e", &good, None).0, 401);
    assert_eq!(
        deploy("mm_e2e", &good, op).0,
        403,
        "operators do not deploy"
    );
    let (code, body) = deploy("market_maker", &good, ad);
    assert_eq!(code, 422, "{body}");
    assert!(body.contains("is strategy `mm_e2e`"), "{body}");
    let (code, body) = deploy("mm_e2e", &good.replace("quote_size", "quote_sise"), ad);
    assert_eq!(code, 422, "{body}");
    assert!(body.contains("quote_sise"), "{body}");
    let (code, body) = deploy("mm_e2e", &good.replace("max_open_orders", "max_opn"), ad);
    assert_eq!(code, 422, "{body}");
    assert!(body.contains("max_opn"), "{body}");
    let (code, body) = deploy(
        "mm_e2e",
        &format!(r#"{{"sha256":"{}"}}"#, "0".repeat(64)),
        ad,
    );
    assert_eq!(code, 404, "{body}");
    let (code, body) = deploy("mm_e2e", &good, ad);
    assert_eq!(code, 202, "{body}");
    let d = applied(addr, json(&body)["deployment"].as_i64().unwrap());
    assert_eq!(d["outcome"], "started", "{d}");
    let first = wait_for(60, "mm_e2e trading", || {
        strategy(addr, "mm_e2e").filter(|s| s["fills"].as_u64().unwrap_or(0) > 0)
    });
    assert_eq!(first["version"], "0.1.0");
    assert_eq!(first["params"]["quote_size"], "10");
    wait_for(60, "a position of mm_e2e", || {
        let p = get(addr, "/api/v1/positions");
        p.as_array()
            .is_some_and(|a| a.iter().any(|p| p["strategy_name"] == "mm_e2e"))
            .then_some(())
    });

    // v2 through `pqap deploy --env`: reloaded in place while market_maker trades on.
    let mm_fills_before = strategy(addr, "market_maker").unwrap()["fills"]
        .as_u64()
        .unwrap();
    let cwd = dir.path().join("cli");
    std::fs::create_dir_all(cwd.join("configs")).unwrap();
    std::fs::write(
        cwd.join("configs/prod.yaml"),
        format!(
            "environment: prod\ndatabase: unused.db\nserver:\n  url: http://{addr}\ncompiled_cache: {:?}\n",
            dir.path().join("cache")
        ),
    )
    .unwrap();
    let v2 = market_maker_copy(dir.path(), "0.2.0");
    let out = Command::new(env!("CARGO_BIN_EXE_pqap"))
        .args([
            "deploy",
            v2.to_str().unwrap(),
            "--env",
            "prod",
            "--params",
            "quote_size=10",
            "--json",
        ])
        .current_dir(&cwd)
        .env("PQAP_API_TOKEN", &ad_token)
        .output()
        .expect("run pqap deploy");
    assert!(
        out.status.success(),
        "pqap deploy: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reloaded = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(reloaded["outcome"], "reloaded", "{reloaded}");
    let now = strategy(addr, "mm_e2e").unwrap();
    assert_eq!(now["version"], "0.2.0");
    assert_eq!(now["id"], first["id"], "same strategy, same id");
    assert!(now["fills"].as_u64().unwrap() >= first["fills"].as_u64().unwrap());
    wait_for(60, "market_maker trading after the reload", || {
        strategy(addr, "market_maker")
            .filter(|s| s["fills"].as_u64().unwrap_or(0) > mm_fills_before)
    });

    // A version that cannot start is rolled back; the running one stays.
    let (code, body) = upload(addr, ad, &std::fs::read(&hostile).unwrap());
    assert_eq!(code, 201, "{body}");
    let hsha = json(&body)["sha256"].as_str().unwrap().to_string();
    let (_, body) = deploy("hostile", &format!(r#"{{"sha256":"{hsha}"}}"#), ad);
    assert_eq!(
        applied(addr, json(&body)["deployment"].as_i64().unwrap())["outcome"],
        "started"
    );
    let (_, body) = deploy(
        "hostile",
        &format!(r#"{{"sha256":"{hsha}","params":{{"mode":"refuse_init"}}}}"#),
        ad,
    );
    let d = applied(addr, json(&body)["deployment"].as_i64().unwrap());
    assert_eq!(d["outcome"], "rolled_back", "{d}");
    assert!(
        d["message"].as_str().unwrap().contains("failed to start"),
        "{d}"
    );
    let detail = get(addr, "/api/v1/strategies/hostile");
    assert_eq!(detail["live"]["state"], "running");
    assert_eq!(
        detail["deployments"].as_array().map(Vec::len),
        Some(2),
        "{detail}"
    );
    assert_eq!(detail["manifest"]["name"], "hostile");
    assert_eq!(
        call(addr, "GET", "/api/v1/strategies/nobody", ad, "").0,
        404
    );
    let h = strategy(addr, "hostile").expect("the old hostile still runs");
    assert_eq!(h["state"], "running");
    assert_eq!(h["params"], serde_json::json!({}));

    // Isolation: a version that panics on every call faults, raises alerts and
    // is quarantined, while the market maker keeps trading.
    let mm_fills = strategy(addr, "market_maker").unwrap()["fills"]
        .as_u64()
        .unwrap();
    let (_, body) = deploy(
        "hostile",
        &format!(r#"{{"sha256":"{hsha}","params":{{"mode":"panic"}}}}"#),
        ad,
    );
    assert_eq!(
        applied(addr, json(&body)["deployment"].as_i64().unwrap())["outcome"],
        "reloaded"
    );
    wait_for(40, "hostile quarantined", || {
        strategy(addr, "hostile").filter(|s| s["state"] == "quarantined")
    });
    let alerts = wait_for(10, "quarantine alert", || {
        let a = get(addr, "/api/v1/alerts");
        a.as_array()
            .is_some_and(|a| a.iter().any(|x| x["kind"] == "strategy_quarantined"))
            .then_some(a)
    });
    let fault = alerts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "strategy_fault")
        .expect("a fault alert");
    assert_eq!(fault["strategy"], "hostile");
    assert!(
        fault["message"].as_str().unwrap().contains("panicked"),
        "{fault}"
    );
    let detail = get(addr, "/api/v1/strategies/hostile");
    assert!(
        detail["faults"].as_array().is_some_and(|f| f.len() >= 3),
        "the fault history: {detail}"
    );
    // The same alerts reached the webhook, as JSON.
    let sent = wait_for(10, "the quarantine alert at the webhook", || {
        let bodies = webhook.bodies.lock().ok()?.clone();
        bodies
            .iter()
            .any(|b| b.contains("strategy_quarantined"))
            .then_some(bodies)
    });
    let posted: serde_json::Value = serde_json::from_str(
        sent.iter()
            .find(|b| b.contains("strategy_quarantined"))
            .expect("posted"),
    )
    .expect("an alert as JSON");
    assert_eq!(posted["severity"], "critical");
    assert_eq!(posted["strategy"], "hostile");
    wait_for(
        60,
        "market_maker trading beside the quarantined strategy",
        || strategy(addr, "market_maker").filter(|s| s["fills"].as_u64().unwrap_or(0) > mm_fills),
    );

    // What nothing runs can be deleted; what runs cannot.
    let (code, body) = call(addr, "DELETE", &format!("/api/v1/artifacts/{sha1}"), ad, "");
    assert_eq!(code, 200, "{body}");
    let sha2 = now["sha256"].as_str().unwrap().to_string();
    let (code, body) = call(addr, "DELETE", &format!("/api/v1/artifacts/{sha2}"), ad, "");
    assert_eq!(code, 409, "{body}");
    assert!(body.contains("mm_e2e"), "{body}");

    let audit = get(addr, "/api/v1/audit?last=50");
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "deploy")
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert!(
        actions.iter().filter(|o| o.starts_with("queued")).count() >= 4,
        "{actions:?}"
    );
    assert!(
        actions.iter().any(|o| o.starts_with("rejected")),
        "{actions:?}"
    );
    stop_serve(guard);

    // The journal tells the story; a restart runs what was deployed.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let entries = rt.block_on(async {
        let j = pqap::store::Journal::open(&db).await.unwrap();
        assert_eq!(j.verify().await.unwrap().broken, None);
        j.read_from(1).await.unwrap()
    });
    let deployed: Vec<(String, Option<String>)> = entries
        .iter()
        .filter_map(|e| match &e.entry {
            pqap::store::Entry::Deployed {
                outcome,
                previous_sha256,
                ..
            } => Some((outcome.clone(), previous_sha256.clone())),
            _ => None,
        })
        .collect();
    assert!(
        deployed.contains(&("reloaded".into(), Some(sha1.clone()))),
        "{deployed:?}"
    );
    assert!(deployed.iter().any(|(o, _)| o == "rolled_back"));

    // This time resting orders are cancelled at the stop (server.on_shutdown).
    let (guard, addr) = start_serve_with(
        &[],
        &db,
        dir.path(),
        Some(venue),
        &[("PQAP_SERVER_ON_SHUTDOWN", "cancel")],
    );
    let running = wait_for(30, "deployed strategies after a restart", || {
        let s = get(addr, "/api/v1/strategies");
        (s.as_array().is_some_and(|a| a.len() == 2)).then_some(s)
    });
    let names: Vec<&str> = running
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"mm_e2e") && names.contains(&"hostile"),
        "{names:?}"
    );
    let mm = strategy(addr, "mm_e2e").unwrap();
    assert_eq!(mm["version"], "0.2.0");
    assert_eq!(mm["id"], first["id"]);
    // Retiring takes it out of what runs.
    let (code, body) = call(addr, "POST", "/api/v1/strategies/hostile/retire", ad, "");
    assert_eq!(code, 202, "{body}");
    assert_eq!(
        applied(addr, json(&body)["deployment"].as_i64().unwrap())["outcome"],
        "retired"
    );
    assert!(strategy(addr, "hostile").is_none());
    wait_for(30, "mm_e2e quoting again", || {
        (get(addr, "/api/v1/status")["open_orders"]
            .as_u64()
            .unwrap_or(0)
            > 0)
        .then_some(())
    });
    stop_serve(guard);
    // on_shutdown: cancel — the journal ends with nothing working.
    let p = rt.block_on(async {
        let j = pqap::store::Journal::open(&db).await.unwrap();
        pqap::store::Projections::replay(&j.read_from(1).await.unwrap())
    });
    assert_eq!(
        p.open_orders().count(),
        0,
        "orders left working at the stop"
    );
}
