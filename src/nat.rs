//! The address PASV announces behind NAT (`-n/--nat-address`): a fixed IP, or a host name.
//!
//! A server behind a router with a dynamic public address (a home line, a cloud instance
//! without a fixed IP) has no address to put in its `227` replies, only a dynamic DNS name.
//! A [`NatAddress`] made from a name resolves it when it is made (an error then stops the
//! server from starting) and again every refresh period, on a small thread of its own: the
//! event loop never calls `getaddrinfo`, it only reads the last answer
//! ([`NatAddress::current`], one uncontended read lock per PASV). A lookup that fails or
//! finds no address keeps the last address and logs a warning; a changed address is logged
//! at info, and every later `227` carries it.
//!
//! A `227` reply can carry only an IPv4 address (RFC 959; EPSV carries no address at all), so
//! a name's first IPv4 address is preferred, and an IPv6 one is used only when there is none.
//!
//! Clones share the address and the thread, so every worker loop and session sees the same
//! answer. The thread ends when the last clone is dropped (when the last `Config` holding it
//! goes away, after a reload for example). Lookups go through [`Resolve`], so that an embedder
//! (or a test) can supply its own answers instead of the system resolver's.

use std::fmt;
use std::io;
use std::net::{IpAddr, ToSocketAddrs};
use std::str::FromStr;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use crate::net::canonical_ip;

/// Looks up the addresses of a host name. Runs on the refresh thread (and on the thread that
/// makes the [`NatAddress`]), never on the event loop, so it may block.
pub trait Resolve: Send + Sync {
    /// The addresses of `host`, in the resolver's order.
    fn resolve(&self, host: &str) -> io::Result<Vec<IpAddr>>;
}

/// The system's resolver (`getaddrinfo`, through the standard library).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve(&self, host: &str) -> io::Result<Vec<IpAddr>> {
        Ok((host, 0).to_socket_addrs()?.map(|a| a.ip()).collect())
    }
}

impl<F: Fn(&str) -> io::Result<Vec<IpAddr>> + Send + Sync> Resolve for F {
    fn resolve(&self, host: &str) -> io::Result<Vec<IpAddr>> {
        self(host)
    }
}

/// What `-n` names: an IP address, or a host name to resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NatHost {
    /// A fixed address.
    Ip(IpAddr),
    /// A host name (letters, digits and hyphens in dot-separated labels, RFC 1123).
    Name(String),
}

impl FromStr for NatHost {
    type Err = String;
    fn from_str(s: &str) -> Result<NatHost, String> {
        let t = s.trim();
        if let Ok(ip) = t.parse::<IpAddr>() {
            return Ok(NatHost::Ip(ip));
        }
        let labels: Vec<&str> = t.strip_suffix('.').unwrap_or(t).split('.').collect();
        let label_ok = |l: &&str| {
            (1..=63).contains(&l.len())
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        // A last label of digits only is a mistyped IP address (`1.2.3`), not a name.
        let numeric = labels
            .last()
            .is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()));
        if t.len() <= 253 && labels.iter().all(label_ok) && !numeric {
            return Ok(NatHost::Name(t.to_owned()));
        }
        Err(format!("{s:?} is neither an IP address nor a host name"))
    }
}

impl fmt::Display for NatHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NatHost::Ip(ip) => ip.fmt(f),
            NatHost::Name(name) => f.write_str(name),
        }
    }
}

/// The address (and, for a name, the resolver state) that clones share.
struct Inner {
    host: NatHost,
    refresh: Option<Duration>,
    resolver: Box<dyn Resolve>,
    current: RwLock<IpAddr>,
}

/// The PASV address behind NAT: fixed, or a host name kept resolved (see the module
/// documentation). Cheap to clone; clones share the address.
#[derive(Clone)]
pub struct NatAddress {
    inner: Arc<Inner>,
    /// Dropping the last clone closes this channel, which ends the refresh thread.
    _stop: Option<Arc<Sender<()>>>,
}

impl fmt::Debug for NatAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NatAddress")
            .field("host", &self.inner.host)
            .field("current", &self.current())
            .field("refresh", &self.inner.refresh)
            .finish()
    }
}

impl From<IpAddr> for NatAddress {
    fn from(ip: IpAddr) -> NatAddress {
        NatAddress::fixed(ip)
    }
}

/// The address a `227` should carry among `addrs`: the first IPv4 one, else the first.
pub fn pick(addrs: &[IpAddr]) -> Option<IpAddr> {
    let first = addrs.first().map(|a| canonical_ip(*a));
    addrs
        .iter()
        .map(|a| canonical_ip(*a))
        .find(IpAddr::is_ipv4)
        .or(first)
}

impl NatAddress {
    /// A fixed address: no lookups, no thread.
    pub fn fixed(ip: IpAddr) -> NatAddress {
        NatAddress {
            inner: Arc::new(Inner {
                host: NatHost::Ip(ip),
                refresh: None,
                resolver: Box::new(SystemResolver),
                current: RwLock::new(ip),
            }),
            _stop: None,
        }
    }

    /// `host` as given: [`NatAddress::fixed`] for an IP, [`NatAddress::resolve`] for a name.
    pub fn new(host: &NatHost, refresh: Option<Duration>) -> io::Result<NatAddress> {
        match host {
            NatHost::Ip(ip) => Ok(NatAddress::fixed(*ip)),
            NatHost::Name(name) => NatAddress::resolve(name, refresh),
        }
    }

    /// Resolves `name` with the system resolver now (blocking) and, with a non-zero
    /// `refresh`, again every `refresh` on a thread of its own. An error if the name has no
    /// address now.
    pub fn resolve(name: &str, refresh: Option<Duration>) -> io::Result<NatAddress> {
        NatAddress::with_resolver(name, refresh, SystemResolver)
    }

    /// [`NatAddress::resolve`] with another resolver.
    pub fn with_resolver(
        name: &str,
        refresh: Option<Duration>,
        resolver: impl Resolve + 'static,
    ) -> io::Result<NatAddress> {
        let first = pick(&resolver.resolve(name)?).ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, format!("{name} has no address"))
        })?;
        let refresh = refresh.filter(|d| !d.is_zero());
        let inner = Arc::new(Inner {
            host: NatHost::Name(name.to_owned()),
            refresh,
            resolver: Box::new(resolver),
            current: RwLock::new(first),
        });
        let stop = match refresh {
            Some(every) => Some(Arc::new(spawn_refresher(Arc::clone(&inner), every)?)),
            None => None,
        };
        Ok(NatAddress { inner, _stop: stop })
    }

    /// The address to announce now.
    pub fn current(&self) -> IpAddr {
        self.inner.get()
    }

    /// What was given: the fixed IP or the host name.
    pub fn host(&self) -> &NatHost {
        &self.inner.host
    }

    /// How often a name is looked up again (`None`: never, or a fixed address).
    pub fn refresh_period(&self) -> Option<Duration> {
        self.inner.refresh
    }

    /// Looks the name up once now, on the calling thread (it blocks: never call it on the
    /// event loop), as the refresh thread does. Returns the address in force afterwards, or
    /// the lookup's error, in which case the last address stays (both are logged).
    pub fn refresh(&self) -> io::Result<IpAddr> {
        self.inner.refresh()
    }
}

impl Inner {
    fn refresh(&self) -> io::Result<IpAddr> {
        let NatHost::Name(name) = &self.host else {
            return Ok(self.get());
        };
        let old = self.get();
        let found = self.resolver.resolve(name).and_then(|addrs| {
            pick(&addrs).ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address"))
        });
        match found {
            Ok(new) if new != old => {
                *self.current.write().unwrap_or_else(PoisonError::into_inner) = new;
                log::info!("NAT address {name} now resolves to {new} (was {old})");
                Ok(new)
            }
            Ok(same) => Ok(same),
            Err(e) => {
                log::warn!("NAT address {name}: lookup failed ({e}); keeping {old}");
                Err(e)
            }
        }
    }

    fn get(&self) -> IpAddr {
        *self.current.read().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Starts the thread that refreshes `inner` every `every`, until the returned sender (held by
/// the [`NatAddress`] clones) is dropped.
fn spawn_refresher(inner: Arc<Inner>, every: Duration) -> io::Result<Sender<()>> {
    let (stop, stopped) = mpsc::channel::<()>();
    std::thread::Builder::new()
        .name("ftpdlib-nat".into())
        .spawn(move || {
            // Nothing is ever sent: the wait ends by timing out, or when the channel closes.
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                // A failure is logged by refresh, and the last address stays.
                let _ = inner.refresh();
            }
        })?;
    Ok(stop)
}

#[cfg(test)]
mod tests;
