//! Socket set-up with socket2: the things `std` and mio do not expose.
//!
//! A listening socket for FTP wants `SO_REUSEADDR` (so a restarted daemon can bind port 21 while
//! old connections sit in TIME_WAIT), a large backlog (bursts of clients), and on `::` a choice
//! between dual-stack (IPv4 clients appear as `::ffff:a.b.c.d`) and IPv6 only.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};

use socket2::{Domain, Protocol, Socket, Type};

/// Listen backlog for control and passive listeners.
pub const BACKLOG: i32 = 1024;

/// Creates a non-blocking listening socket on `addr`. An unspecified IPv6 address (`::`) is made
/// dual-stack so that IPv4 clients are served too.
pub fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    listen_with(addr, false)
}

/// Like [`listen`] with `SO_REUSEPORT`: several sockets (one per worker loop) share the port
/// and the kernel spreads new connections across them.
pub fn listen_reuseport(addr: SocketAddr) -> io::Result<TcpListener> {
    listen_with(addr, true)
}

fn listen_with(addr: SocketAddr, reuse_port: bool) -> io::Result<TcpListener> {
    let socket = new_stream_socket(addr)?;
    socket.set_reuse_address(true)?;
    if reuse_port {
        socket.set_reuse_port(true)?;
    }
    if let SocketAddr::V6(v6) = addr {
        // Dual-stack only on the wildcard address; ::1 stays IPv6-only.
        socket.set_only_v6(!v6.ip().is_unspecified())?;
    }
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

/// A non-blocking TCP socket for `addr`'s family. On Linux `SOCK_NONBLOCK` sets the mode in
/// the `socket` call itself, saving the two `fcntl` calls per passive data connection.
pub(crate) fn new_stream_socket(addr: SocketAddr) -> io::Result<Socket> {
    #[cfg(target_os = "linux")]
    {
        Socket::new(
            Domain::for_address(addr),
            Type::STREAM.nonblocking(),
            Some(Protocol::TCP),
        )
    }
    #[cfg(not(target_os = "linux"))]
    {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        socket.set_nonblocking(true)?;
        Ok(socket)
    }
}

/// Unsent bytes a data socket may hold before it stops accepting more (`TCP_NOTSENT_LOWAT`).
///
/// Without a limit, the kernel queues up to the whole send buffer (megabytes) of unsent data.
/// The receiver's window then decides when it is transmitted, so the transmission (and, over
/// loopback, the receiving side's TCP work too) runs in the receiving process's context, on
/// its core: a download made the client do the server's work. With at most 16 KiB unsent,
/// nearly every byte leaves from the server's own `sendfile` or `write` call. Measured with
/// the referee's RETR of 1 GiB against pyftpdlib (paired medians over 5 rounds): 1.30x and
/// 1.37x the MB/s with 16 KiB against 0.82x and 0.92x without, and half the server CPU per GiB;
/// 128 KiB and more made no difference (docs/performance.md). Real networks are unaffected:
/// bytes in flight are not limited, only bytes waiting in the socket.
#[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
pub(crate) const NOTSENT_LOWAT: u32 = 16 * 1024;

/// Limits the unsent data of a data connection that is about to download to
/// [`NOTSENT_LOWAT`].
pub(crate) fn limit_unsent(tcp: &mio::net::TcpStream) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let Err(e) = socket2::SockRef::from(tcp).set_tcp_notsent_lowat(NOTSENT_LOWAT) {
        log::debug!("TCP_NOTSENT_LOWAT: {e}");
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = tcp;
}

/// The default listening address when no `-i` is given: dual-stack `::` if the host has IPv6,
/// else `0.0.0.0`.
pub fn default_listen_addr(port: u16) -> SocketAddr {
    let v6 = SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port);
    match Socket::new(Domain::IPV6, Type::STREAM, None) {
        Ok(_) => v6,
        Err(_) => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
    }
}

/// Shows an IPv4-mapped IPv6 address (`::ffff:1.2.3.4`) as the IPv4 address it is.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// Formats an address the way the daemon's `listening on HOST:PORT` line shows it.
pub fn display_addr(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => a.to_string(),
        SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
    }
}

/// `h1,h2,h3,h4,p1,p2` for a 227 reply.
pub fn pasv_tuple(ip: Ipv4Addr, port: u16) -> String {
    let o = ip.octets();
    format!(
        "{},{},{},{},{},{}",
        o[0],
        o[1],
        o[2],
        o[3],
        port >> 8,
        port & 0xff
    )
}

/// A network, `10.0.0.0/8` or `2001:db8::/32` (a bare address is a /32 or /128): the
/// per-user `allow_from` option. IPv4-mapped IPv6 clients match IPv4 networks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// True if `ip` is in the network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, canonical_ip(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u128::from(u32::from(net)), self.prefix, 32)
                    == masked(u128::from(u32::from(ip)), self.prefix, 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                masked(u128::from(net), self.prefix, 128)
                    == masked(u128::from(ip), self.prefix, 128)
            }
            _ => false,
        }
    }
}

/// The top `prefix` bits of a `bits`-wide address.
fn masked(addr: u128, prefix: u8, bits: u32) -> u128 {
    let keep = u32::from(prefix).min(bits);
    if keep == 0 {
        0
    } else {
        addr >> (bits - keep)
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.net, self.prefix)
    }
}

impl std::str::FromStr for Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Cidr, String> {
        let bad = || format!("{s:?} is not a network (10.0.0.0/8, 2001:db8::/32 or an address)");
        let (addr, prefix) = s.trim().split_once('/').unwrap_or((s.trim(), ""));
        let net: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = if prefix.is_empty() {
            max
        } else {
            prefix
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(bad)?
        };
        Ok(Cidr { net, prefix })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn downloading_sockets_hold_little_unsent_data() -> io::Result<()> {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        let client = std::net::TcpStream::connect(l.local_addr()?)?;
        let (server, _) = l.accept()?;
        let server = mio::net::TcpStream::from_std(server);
        let default = socket2::SockRef::from(&server).tcp_notsent_lowat()?;
        assert_ne!(default, NOTSENT_LOWAT);
        limit_unsent(&server);
        assert_eq!(
            socket2::SockRef::from(&server).tcp_notsent_lowat()?,
            NOTSENT_LOWAT
        );
        drop(client);
        Ok(())
    }

    #[test]
    fn mapped_addresses_become_v4() {
        let ip: IpAddr = "::ffff:127.0.0.1"
            .parse()
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        assert_eq!(canonical_ip(ip), IpAddr::V4(Ipv4Addr::LOCALHOST));
        let v6: IpAddr = "::1".parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        assert_eq!(canonical_ip(v6), v6);
    }

    #[test]
    fn listen_on_port_zero_gets_a_port() -> io::Result<()> {
        let l = listen("127.0.0.1:0".parse().map_err(io::Error::other)?)?;
        assert_ne!(l.local_addr()?.port(), 0);
        assert_eq!(
            display_addr("[::1]:21".parse().map_err(io::Error::other)?),
            "[::1]:21"
        );
        Ok(())
    }
}
