//! A TCP proxy in front of the MariaDB server that a test can cut (every connection closed,
//! new ones refused) and restore: "the server is unreachable" without stopping the server
//! other tests use.
#![allow(dead_code)]

use std::io;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// The proxy; it serves until the test process ends.
pub struct Proxy {
    port: u16,
    down: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    /// A proxy on a free port of 127.0.0.1 forwarding to `upstream` (`host:port`).
    pub fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let down = Arc::new(AtomicBool::new(false));
        let open = Arc::new(Mutex::new(Vec::new()));
        let (d, o) = (down.clone(), open.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if d.load(Ordering::SeqCst) {
                    continue;
                }
                if let Ok(server) = TcpStream::connect(&upstream) {
                    let _ = forward(client, server, &o);
                }
            }
        });
        Proxy { port, down, open }
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
            self.port
        )
    }

    /// Closes every connection and refuses new ones.
    pub fn cut(&self) {
        self.down.store(true, Ordering::SeqCst);
        for s in self.open.lock().expect("open").drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    /// Accepts connections again.
    pub fn restore(&self) {
        self.down.store(false, Ordering::SeqCst);
    }

    /// Whether it is cut.
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::SeqCst)
    }
}

fn forward(client: TcpStream, server: TcpStream, open: &Mutex<Vec<TcpStream>>) -> io::Result<()> {
    {
        let mut open = open.lock().expect("open");
        open.push(client.try_clone()?);
        open.push(server.try_clone()?);
    }
    let (mut c_in, mut c_out) = (client.try_clone()?, client);
    let (mut s_in, mut s_out) = (server.try_clone()?, server);
    std::thread::spawn(move || {
        let _ = io::copy(&mut c_in, &mut s_out);
        let _ = s_out.shutdown(Shutdown::Both);
    });
    std::thread::spawn(move || {
        let _ = io::copy(&mut s_in, &mut c_out);
        let _ = c_out.shutdown(Shutdown::Both);
    });
    Ok(())
}
