//! A TCP proxy in front of a server that a test can cut (every connection closed, new ones
//! closed at once and counted) and restore: "the server is unreachable" without stopping the
//! server other tests use. Shared by the MariaDB, Kafka and NATS tests.
#![allow(dead_code)]

use std::io;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The proxy; it serves until the test process ends. Clones are handles of the same proxy.
#[derive(Clone)]
pub struct TcpProxy {
    /// Its port on 127.0.0.1.
    pub port: u16,
    down: Arc<AtomicBool>,
    refused: Arc<AtomicU64>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl TcpProxy {
    /// A proxy on a free port of 127.0.0.1 forwarding to `upstream` (`host:port`).
    pub fn start(upstream: String) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let down = Arc::new(AtomicBool::new(false));
        let refused = Arc::new(AtomicU64::new(0));
        let open = Arc::new(Mutex::new(Vec::new()));
        let (d, r, o) = (down.clone(), refused.clone(), open.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if d.load(Ordering::SeqCst) {
                    r.fetch_add(1, Ordering::SeqCst);
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                if let Ok(server) = TcpStream::connect(&upstream) {
                    let _ = forward(client, server, &o);
                }
            }
        });
        TcpProxy {
            port,
            down,
            refused,
            open,
        }
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

    /// How many connections it refused while cut.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::SeqCst)
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
