//! Data connections of the FTPS client: PASV, EPSV and PORT set-up, and whole transfers under
//! PROT P (the client is the TLS client on the data connection in every mode).

use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;

use rustls::ClientConfig;

use super::{read_tls_to_end, tls_connect, write_tls_and_close, FtpsCtrl};
use crate::common::{epsv_port, pasv_addr, Reply, IO_TIMEOUT};

/// How the data connection is set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Pasv,
    Epsv,
    /// Active: the client listens on 127.0.0.1:0 and the server connects to it.
    Port,
}

impl FtpsCtrl {
    /// Sets up a data connection for `cmd` in `mode`, sends `cmd`, and returns the TCP socket
    /// (still plain) once the server answered `150`; `Err` carries any other reply.
    pub fn open_data(&mut self, mode: Mode, cmd: &str) -> Result<TcpStream, Reply> {
        let ip = self.tcp().peer_addr().unwrap().ip();
        let sock = match mode {
            Mode::Pasv | Mode::Epsv => {
                let r = self.cmd(if mode == Mode::Pasv { "PASV" } else { "EPSV" });
                let addr = passive_addr(&r, ip)?;
                let s = TcpStream::connect_timeout(&addr, IO_TIMEOUT).expect("data connect");
                let r = self.cmd(cmd);
                if r.code != 150 && r.code != 125 {
                    return Err(r);
                }
                s
            }
            Mode::Port => {
                let l = active_listener(ip);
                let r = self.cmd(&format!("PORT {}", port_arg(l.local_addr().unwrap())));
                if r.code != 200 {
                    return Err(r);
                }
                let r = self.cmd(cmd);
                if r.code != 150 && r.code != 125 {
                    return Err(r);
                }
                l.accept().expect("accept the server's data connection").0
            }
        };
        sock.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        sock.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        Ok(sock)
    }

    /// A download-type command (RETR, LIST, NLST) under PROT P: the data as read, and the final
    /// reply.
    pub fn try_download(
        &mut self,
        mode: Mode,
        config: &Arc<ClientConfig>,
        cmd: &str,
    ) -> (io::Result<Vec<u8>>, Reply) {
        let sock = match self.open_data(mode, cmd) {
            Ok(s) => s,
            Err(r) => return (Err(io::Error::other("no data connection")), r),
        };
        let data = tls_connect(sock, config).and_then(|mut t| read_tls_to_end(&mut t));
        (data, self.final_reply())
    }

    /// Like [`FtpsCtrl::try_download`], asserting success (data ended by close_notify, 226).
    #[track_caller]
    pub fn download(&mut self, mode: Mode, config: &Arc<ClientConfig>, cmd: &str) -> Vec<u8> {
        let (data, r) = self.try_download(mode, config, cmd);
        assert_eq!(r.code, 226, "{cmd} ({mode:?}) -> {r:?}");
        data.unwrap_or_else(|e| panic!("{cmd} ({mode:?}) data: {e}"))
    }

    /// STOR-type upload under PROT P, ended properly; returns the final reply.
    pub fn upload(
        &mut self,
        mode: Mode,
        config: &Arc<ClientConfig>,
        cmd: &str,
        data: &[u8],
    ) -> Reply {
        let sock = match self.open_data(mode, cmd) {
            Ok(s) => s,
            Err(r) => return r,
        };
        let mut tls =
            tls_connect(sock, config).unwrap_or_else(|e| panic!("{cmd} ({mode:?}) handshake: {e}"));
        write_tls_and_close(&mut tls, data)
            .unwrap_or_else(|e| panic!("{cmd} ({mode:?}) data: {e}"));
        let r = self.final_reply();
        drop(tls);
        r
    }
}

/// The data address in a 227 (PASV) or 229 (EPSV, on `ip`) reply.
pub fn passive_addr(r: &Reply, ip: IpAddr) -> Result<SocketAddr, Reply> {
    match r.code {
        227 => Ok(pasv_addr(r)),
        229 => Ok(SocketAddr::new(ip, epsv_port(r))),
        _ => Err(r.clone()),
    }
}

/// A listener for active mode on `ip`, port chosen by the kernel; its `accept` times out
/// after [`IO_TIMEOUT`] (SO_RCVTIMEO applies to accept on Linux).
pub fn active_listener(ip: IpAddr) -> TcpListener {
    use socket2::{Domain, Socket, Type};
    let addr = SocketAddr::new(ip, 0);
    let sock = Socket::new(Domain::for_address(addr), Type::STREAM, None).unwrap();
    sock.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    sock.bind(&addr.into()).unwrap();
    sock.listen(8).unwrap();
    sock.into()
}

/// `h1,h2,h3,h4,p1,p2` for PORT.
pub use crate::common::port_arg;
