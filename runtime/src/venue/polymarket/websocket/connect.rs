//! Opens a WebSocket to `ws://` or `wss://` URLs; TLS is rustls (ring) with the
//! webpki root store, set up here rather than through tokio-tungstenite features
//! so the whole binary uses one TLS stack.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// A byte stream that is either plain TCP or TLS.
pub trait Transport: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Transport for T {}

/// A connected WebSocket.
pub type Socket = WebSocketStream<Box<dyn Transport>>;

fn tls_config() -> Arc<rustls::ClientConfig> {
    crate::venue::polymarket::http::client::install_crypto_provider();
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    Arc::new(
        rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// Connects within `timeout`; errors are text naming the URL.
pub async fn connect(url: &str, timeout: Duration) -> Result<Socket, String> {
    let fail = |what: &str, e: &dyn std::fmt::Display| format!("{url}: {what}: {e}");
    let request = url.into_client_request().map_err(|e| fail("bad URL", &e))?;
    let uri = request.uri().clone();
    let host = uri
        .host()
        .ok_or_else(|| format!("{url}: no host"))?
        .to_string();
    let secure = match uri.scheme_str() {
        Some("wss") => true,
        Some("ws") => false,
        other => return Err(format!("{url}: scheme {other:?} is not ws or wss")),
    };
    let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
    let work = async {
        let tcp = TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| fail("connect", &e))?;
        let _ = tcp.set_nodelay(true);
        let stream: Box<dyn Transport> = if secure {
            let name = rustls::pki_types::ServerName::try_from(host.clone())
                .map_err(|e| fail("server name", &e))?;
            let tls = tokio_rustls::TlsConnector::from(tls_config())
                .connect(name, tcp)
                .await
                .map_err(|e| fail("TLS", &e))?;
            Box::new(tls)
        } else {
            Box::new(tcp)
        };
        let (ws, _) = tokio_tungstenite::client_async(request, stream)
            .await
            .map_err(|e| fail("handshake", &e))?;
        Ok(ws)
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| format!("{url}: no connection within {timeout:?}"))?
}
