//! A headless Chromium driven over the DevTools protocol, for dashboard tests:
//! navigate, evaluate JavaScript, wait for a condition, choose a file for an
//! upload input, take a screenshot. Everything bounded by timeouts.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Chromium, if this machine has it (`.ci/run` installs Debian's package).
pub fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|p| p.join(name))
                    .find(|p| p.is_file())
            })
        })
}

pub struct Browser {
    child: Child,
    rt: tokio::runtime::Runtime,
    socket: Socket,
    next_id: u64,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Browser {
    /// Starts Chromium and attaches to its page; `Err` says why not (the
    /// caller skips with that reason).
    pub fn launch() -> Result<Browser, String> {
        let exe = chromium().ok_or("no chromium on PATH (apt-get install chromium)")?;
        let profile = tempfile::tempdir().map_err(|e| e.to_string())?;
        let mut child = Command::new(exe)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-extensions",
                "--remote-debugging-port=0",
                "--window-size=1280,1600",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("starting chromium: {e}"))?;
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    let _ = tx.send(url.trim().to_string());
                }
            }
        });
        let browser_url = rx
            .recv_timeout(Duration::from_secs(30))
            .map_err(|_| "chromium did not open its DevTools port within 30 s".to_string())?;
        // ws://127.0.0.1:PORT/devtools/browser/ID → the page target's socket.
        let port = browser_url
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .ok_or("no DevTools address")?
            .to_string();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        pqap::venue::polymarket::http::client::install_crypto_provider();
        let page_url = rt.block_on(async {
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let list = reqwest::get(format!("http://{port}/json/list")).await;
                if let Ok(r) = list
                    && let Ok(targets) = r.json::<Value>().await
                    && let Some(url) = targets.as_array().and_then(|t| {
                        t.iter()
                            .find(|t| t["type"] == "page")
                            .and_then(|t| t["webSocketDebuggerUrl"].as_str())
                            .map(str::to_string)
                    })
                {
                    return Ok(url);
                }
                if Instant::now() > deadline {
                    return Err("chromium has no page target".to_string());
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })?;
        let socket = rt
            .block_on(tokio_tungstenite::connect_async(page_url.as_str()))
            .map_err(|e| format!("attaching to the page: {e}"))?
            .0;
        let mut b = Browser {
            child,
            rt,
            socket,
            next_id: 1,
            _profile: profile,
        };
        b.call("Page.enable", json!({}));
        b.call("Runtime.enable", json!({}));
        Ok(b)
    }

    /// One DevTools command; its result (panics on a protocol error).
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let message = json!({ "id": id, "method": method, "params": params }).to_string();
        let socket = &mut self.socket;
        self.rt.block_on(async {
            socket
                .send(Message::Text(message.into()))
                .await
                .expect("send to chromium");
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
            loop {
                let next = tokio::time::timeout_at(deadline, socket.next())
                    .await
                    .unwrap_or_else(|_| panic!("{method}: no answer from chromium in 60 s"));
                let Some(Ok(Message::Text(text))) = next else {
                    continue;
                };
                let v: Value = serde_json::from_str(&text).expect("DevTools JSON");
                if v["id"] == id {
                    assert!(v["error"].is_null(), "{method}: {}", v["error"]);
                    return v["result"].clone();
                }
            }
        })
    }

    /// Loads `url` and waits for the document to be complete.
    pub fn goto(&mut self, url: &str) {
        self.call("Page.navigate", json!({ "url": url }));
        self.settle(url);
    }

    /// Waits until the page at or after `what` has finished loading.
    pub fn settle(&mut self, what: &str) {
        self.wait_for("document.readyState === 'complete'", 30, what);
    }

    /// The value of a JavaScript expression (promises awaited).
    pub fn eval(&mut self, expression: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
        );
        assert!(
            r["exceptionDetails"].is_null(),
            "{expression}: {}",
            r["exceptionDetails"]
        );
        r["result"]["value"].clone()
    }

    /// Polls `condition` (a JavaScript expression) until it is truthy.
    pub fn wait_for(&mut self, condition: &str, secs: u64, what: &str) -> Value {
        let since = Instant::now();
        loop {
            let r = self.call(
                "Runtime.evaluate",
                json!({ "expression": condition, "returnByValue": true }),
            );
            let v = r["result"]["value"].clone();
            let truthy =
                !matches!(v, Value::Null | Value::Bool(false)) && v != json!(0) && v != json!("");
            if r["exceptionDetails"].is_null() && truthy {
                return v;
            }
            assert!(
                since.elapsed() < Duration::from_secs(secs),
                "{what}: `{condition}` not true within {secs} s; page: {}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Clicks the element `selector` matches and waits for the next page.
    pub fn click_and_load(&mut self, selector: &str) {
        let before = self.eval("performance.timeOrigin");
        let sel = serde_json::to_string(selector).unwrap_or_default();
        let clicked = self.eval(&format!(
            "(() => {{ const e = document.querySelector({sel}); if (!e) return false; e.click(); return true; }})()"
        ));
        assert_eq!(clicked, json!(true), "nothing matches {selector}");
        let check =
            format!("performance.timeOrigin !== {before} && document.readyState === 'complete'");
        self.wait_for(&check, 60, selector);
    }

    /// Sets the value of the form field `selector`.
    pub fn fill(&mut self, selector: &str, value: &str) {
        let sel = serde_json::to_string(selector).unwrap_or_default();
        let val = serde_json::to_string(value).unwrap_or_default();
        let ok = self.eval(&format!(
            "(() => {{ const e = document.querySelector({sel}); if (!e) return false; e.value = {val}; return true; }})()"
        ));
        assert_eq!(ok, json!(true), "nothing matches {selector}");
    }

    /// Chooses `file` in the file input `selector`.
    pub fn choose_file(&mut self, selector: &str, file: &Path) {
        let doc = self.call("DOM.getDocument", json!({}));
        let root = doc["root"]["nodeId"].clone();
        let node = self.call(
            "DOM.querySelector",
            json!({ "nodeId": root, "selector": selector }),
        );
        let node_id = node["nodeId"].clone();
        assert_ne!(node_id, json!(0), "nothing matches {selector}");
        self.call(
            "DOM.setFileInputFiles",
            json!({ "nodeId": node_id, "files": [file.display().to_string()] }),
        );
    }

    /// The page's visible text.
    pub fn text(&mut self) -> String {
        let r = self.call(
            "Runtime.evaluate",
            json!({ "expression": "document.body ? document.body.innerText : ''", "returnByValue": true }),
        );
        r["result"]["value"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The page's URL.
    pub fn url(&mut self) -> String {
        self.eval("location.href")
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Writes a PNG of the page to `$PQAP_TEST_SCREENSHOTS/NAME.png` when that
    /// variable is set (to look at the dashboard a test drove).
    pub fn keep_screenshot(&mut self, name: &str) {
        let Some(dir) = std::env::var_os("PQAP_TEST_SCREENSHOTS") else {
            return;
        };
        let png = decode_base64(&self.screenshot_base64());
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(Path::new(&dir).join(format!("{name}.png")), png);
    }

    /// A PNG of the page, base64-encoded as DevTools sends it.
    pub fn screenshot_base64(&mut self) -> String {
        let r = self.call("Page.captureScreenshot", json!({ "format": "png" }));
        r["data"].as_str().unwrap_or_default().to_string()
    }
}

/// Standard base64 (as DevTools sends binary data) to bytes.
fn decode_base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for v in text.bytes().filter_map(value) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}
