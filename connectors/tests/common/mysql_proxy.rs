//! A TCP proxy in front of the MariaDB server that a test can cut (every connection closed,
//! new ones refused) and restore: "the server is unreachable" without stopping the server
//! other tests use.
#![allow(dead_code)]

#[path = "tcp_proxy.rs"]
mod tcp_proxy;

use tcp_proxy::TcpProxy;

/// A [`TcpProxy`] in front of the MariaDB server.
pub struct Proxy(TcpProxy);

impl Proxy {
    /// A proxy on a free port of 127.0.0.1 forwarding to `upstream` (`host:port`).
    pub fn start(upstream: String) -> Proxy {
        Proxy(TcpProxy::start(upstream))
    }

    /// The URL of the server `url` names, through the proxy.
    pub fn url(&self, url: &str) -> String {
        let opts = mysql::Opts::from_url(url).expect("a MariaDB URL");
        let user = opts.get_user().unwrap_or("root");
        let pass = opts.get_pass().map(|p| format!(":{p}")).unwrap_or_default();
        let db = opts.get_db_name().unwrap_or("");
        // `prefer_socket=false`: the driver would otherwise move a connection to 127.0.0.1 onto
        // the server's Unix socket, past the proxy.
        format!(
            "mysql://{user}{pass}@127.0.0.1:{}/{db}?prefer_socket=false",
            self.0.port
        )
    }

    /// Closes every connection and refuses new ones.
    pub fn cut(&self) {
        self.0.cut()
    }

    /// Accepts connections again.
    pub fn restore(&self) {
        self.0.restore()
    }

    /// Whether it is cut.
    pub fn is_down(&self) -> bool {
        self.0.is_down()
    }
}
