//! [`ToSocketAddrs`]: what `bind`, `connect` and `send_to` accept, and how a
//! host name is resolved (on the runtime's blocking pool).

use std::{
    io,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6},
};

/// Something that names one or more socket addresses: a [`SocketAddr`]
/// (or its V4/V6 forms), an `(IpAddr, u16)` tuple (or with `Ipv4Addr` /
/// `Ipv6Addr`), a slice of `SocketAddr`s, a string `"host:port"` (`&str`,
/// `String`), or a `(host, port)` tuple (`(&str, u16)`, `(String, u16)`).
///
/// A literal address is used as it is, with no system call. A host name is
/// resolved with the system's blocking resolver (`std::net::ToSocketAddrs`)
/// inside [`spawn_blocking`](crate::spawn_blocking), on the runtime's pool
/// of blocking threads, so that a slow lookup never holds a worker.
///
/// Sealed: implemented for the types above only.
pub trait ToSocketAddrs: sealed::ToSocketAddrsPriv {}

pub(crate) mod sealed {
    use std::net::SocketAddr;

    /// The addresses, or what is left to resolve.
    #[doc(hidden)]
    #[derive(Debug)]
    pub enum Addrs {
        Ready(Vec<SocketAddr>),
        /// `"host:port"`.
        Lookup(String),
        /// A host and a port.
        LookupPort(String, u16),
    }

    /// The sealed half of [`ToSocketAddrs`](super::ToSocketAddrs).
    pub trait ToSocketAddrsPriv {
        #[doc(hidden)]
        fn to_addrs(&self) -> Addrs;
    }
}

use sealed::{Addrs, ToSocketAddrsPriv};

/// The addresses `addr` names, resolving a host name on the blocking pool.
///
/// # Panics
/// A host name outside a runtime (the lookup needs its blocking pool).
pub(crate) async fn resolve(addr: &(impl ToSocketAddrs + ?Sized)) -> io::Result<Vec<SocketAddr>> {
    let lookup = match addr.to_addrs() {
        Addrs::Ready(addrs) => return Ok(addrs),
        Addrs::Lookup(host) => crate::spawn_blocking(move || lookup(host.as_str())),
        Addrs::LookupPort(host, port) => crate::spawn_blocking(move || lookup((host.as_str(), port))),
    };
    match lookup.fallible().await {
        Some(result) => result,
        None => Err(io::Error::other("the runtime shut down before the host name was resolved")),
    }
}

fn lookup(addr: impl std::net::ToSocketAddrs) -> io::Result<Vec<SocketAddr>> {
    Ok(addr.to_socket_addrs()?.collect())
}

/// The error when a name resolves to no address at all.
pub(crate) fn no_address() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "could not resolve to any address")
}

macro_rules! ready_addrs {
    ($($ty:ty => |$this:ident| $addrs:expr;)*) => {$(
        impl ToSocketAddrs for $ty {}
        impl ToSocketAddrsPriv for $ty {
            fn to_addrs(&self) -> Addrs {
                let $this = self;
                Addrs::Ready($addrs)
            }
        }
    )*};
}

ready_addrs! {
    SocketAddr => |a| vec![*a];
    SocketAddrV4 => |a| vec![SocketAddr::V4(*a)];
    SocketAddrV6 => |a| vec![SocketAddr::V6(*a)];
    (IpAddr, u16) => |a| vec![SocketAddr::new(a.0, a.1)];
    (Ipv4Addr, u16) => |a| vec![SocketAddr::new(IpAddr::V4(a.0), a.1)];
    (Ipv6Addr, u16) => |a| vec![SocketAddr::new(IpAddr::V6(a.0), a.1)];
    [SocketAddr] => |a| a.to_vec();
    Vec<SocketAddr> => |a| a.clone();
}

impl<const N: usize> ToSocketAddrs for [SocketAddr; N] {}
impl<const N: usize> ToSocketAddrsPriv for [SocketAddr; N] {
    fn to_addrs(&self) -> Addrs {
        Addrs::Ready(self.to_vec())
    }
}

impl ToSocketAddrs for str {}
impl ToSocketAddrsPriv for str {
    fn to_addrs(&self) -> Addrs {
        match self.parse::<SocketAddr>() {
            Ok(addr) => Addrs::Ready(vec![addr]),
            Err(_) => Addrs::Lookup(self.to_owned()),
        }
    }
}

impl ToSocketAddrs for String {}
impl ToSocketAddrsPriv for String {
    fn to_addrs(&self) -> Addrs {
        self.as_str().to_addrs()
    }
}

impl ToSocketAddrs for (&str, u16) {}
impl ToSocketAddrsPriv for (&str, u16) {
    fn to_addrs(&self) -> Addrs {
        match self.0.parse::<IpAddr>() {
            Ok(ip) => Addrs::Ready(vec![SocketAddr::new(ip, self.1)]),
            Err(_) => Addrs::LookupPort(self.0.to_owned(), self.1),
        }
    }
}

impl ToSocketAddrs for (String, u16) {}
impl ToSocketAddrsPriv for (String, u16) {
    fn to_addrs(&self) -> Addrs {
        (self.0.as_str(), self.1).to_addrs()
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}
impl<T: ToSocketAddrsPriv + ?Sized> ToSocketAddrsPriv for &T {
    fn to_addrs(&self) -> Addrs {
        (**self).to_addrs()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn literals_need_no_lookup() {
        let v4: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let v6: SocketAddr = "[::1]:80".parse().unwrap();
        for (addrs, want) in [
            ("127.0.0.1:80".to_addrs(), vec![v4]),
            ("[::1]:80".to_addrs(), vec![v6]),
            (("127.0.0.1", 80).to_addrs(), vec![v4]),
            (("::1", 80).to_addrs(), vec![v6]),
            ((Ipv4Addr::LOCALHOST, 80).to_addrs(), vec![v4]),
            ([v4, v6].to_addrs(), vec![v4, v6]),
            (ToSocketAddrsPriv::to_addrs(&&v4), vec![v4]),
        ] {
            match addrs {
                Addrs::Ready(addrs) => assert_eq!(addrs, want),
                other => panic!("a literal address needed a lookup: {other:?}"),
            }
        }
        assert!(matches!("localhost:80".to_addrs(), Addrs::Lookup(host) if host == "localhost:80"));
        assert!(matches!(("localhost", 80).to_addrs(), Addrs::LookupPort(host, 80) if host == "localhost"));
    }
}
