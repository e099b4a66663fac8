//! Socket options (Node docs `dgram.md` › `socket.setBroadcast()` to `socket.setTTL()`):
//! each bad argument gives the code Node 20 throws for it, changing nothing; each valid call
//! queues one `Action::SetOption` (docs/node-semantics.md#dgram-options,
//! docs/node-semantics.md#dgram-buffer-size).
//!
//! The expected codes were confirmed with Node v20.20.2 on Linux, for example
//! `node -e "const s = require('dgram').createSocket('udp4'); s.bind(0, () => s.setTTL(0))"`
//! throws `EINVAL` (the script that checked every row is summarised in each test).

use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::harness::*;
use crate::{
    Action, Error, Family, MulticastInterface, Socket, SocketEvent, SocketOption, UsageError,
};

const GROUP_V4: IpAddr = IpAddr::V4(Ipv4Addr::new(239, 255, 0, 1));
const SSM_GROUP_V4: IpAddr = IpAddr::V4(Ipv4Addr::new(232, 1, 1, 1));
const SOURCE_V4: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const LO_V4: MulticastInterface = MulticastInterface::V4(Ipv4Addr::LOCALHOST);
const GROUP_V6: IpAddr = IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1));
const SOURCE_V6: IpAddr = IpAddr::V6(Ipv6Addr::LOCALHOST);

/// Runs a command that must fail with `expected` and Node's `code`, changing nothing.
fn rejects<T: std::fmt::Debug>(
    socket: &mut Socket,
    command: impl FnOnce(&mut Socket) -> Result<T, Error>,
    expected: UsageError,
    code: &str,
) {
    let error = assert_rejected(socket, command);
    assert_eq!(error, Error::Usage(expected));
    assert_eq!(error.code(), code);
    let drained = drain(socket);
    assert!(drained.actions.is_empty() && drained.events.is_empty());
}

/// Runs a command that must succeed and queue exactly `Action::SetOption(option)`, no event.
fn requests(
    socket: &mut Socket,
    command: impl FnOnce(&mut Socket) -> Result<(), Error>,
    option: SocketOption,
) {
    command(socket).expect("a valid option on a bound socket is accepted");
    let drained = drain(socket);
    assert_eq!(drained.actions, [Action::SetOption(option)]);
    assert!(drained.events.is_empty());
}

// ---- valid calls on a bound socket: one request each ----

/// Node docs `dgram.md` › `socket.setBroadcast()`.
#[test]
fn bound_set_broadcast_requests_so_broadcast() {
    let mut socket = socket_bound(Family::Udp4);
    requests(
        &mut socket,
        |s| s.set_broadcast(now(), true),
        SocketOption::Broadcast(true),
    );
    requests(
        &mut socket,
        |s| s.set_broadcast(now(), false),
        SocketOption::Broadcast(false),
    );
}

/// Node docs `dgram.md` › `socket.setTTL()`: 1 and 255 are the bounds (Node 20: both
/// accepted).
#[test]
fn bound_set_ttl_bounds_request_ttl() {
    let mut socket = socket_bound(Family::Udp4);
    requests(&mut socket, |s| s.set_ttl(now(), 1), SocketOption::Ttl(1));
    requests(
        &mut socket,
        |s| s.set_ttl(now(), 255),
        SocketOption::Ttl(255),
    );
}

/// Node docs `dgram.md` › `socket.setMulticastTTL()`: 0 and 255 are the bounds (Node 20:
/// both accepted).
#[test]
fn bound_set_multicast_ttl_bounds_request_ttl() {
    let mut socket = socket_bound(Family::Udp4);
    requests(
        &mut socket,
        |s| s.set_multicast_ttl(now(), 0),
        SocketOption::MulticastTtl(0),
    );
    requests(
        &mut socket,
        |s| s.set_multicast_ttl(now(), 255),
        SocketOption::MulticastTtl(255),
    );
}

/// Node docs `dgram.md` › `socket.setMulticastLoopback()`.
#[test]
fn bound_set_multicast_loopback_requests_it() {
    let mut socket = socket_bound(Family::Udp4);
    requests(
        &mut socket,
        |s| s.set_multicast_loopback(now(), false),
        SocketOption::MulticastLoopback(false),
    );
}

/// Node docs `dgram.md` › `socket.setMulticastInterface()`: udp4 names an IPv4 address; udp6
/// takes a scope (here its index) and, as Node 20 on Linux, an IPv4 address too.
#[test]
fn bound_set_multicast_interface_requests_it() {
    let mut socket = socket_bound(Family::Udp4);
    requests(
        &mut socket,
        |s| s.set_multicast_interface(now(), LO_V4),
        SocketOption::MulticastInterface(LO_V4),
    );
    let mut socket = socket_bound(Family::Udp6);
    let scope = MulticastInterface::V6(1);
    requests(
        &mut socket,
        |s| s.set_multicast_interface(now(), scope),
        SocketOption::MulticastInterface(scope),
    );
    requests(
        &mut socket,
        |s| s.set_multicast_interface(now(), LO_V4),
        SocketOption::MulticastInterface(LO_V4),
    );
}

/// Node docs `dgram.md` › `socket.addMembership()`, `socket.dropMembership()`: with and
/// without an interface.
#[test]
fn bound_membership_requests_join_and_leave() {
    let mut socket = socket_bound(Family::Udp4);
    requests(
        &mut socket,
        |s| s.add_membership(now(), GROUP_V4, Some(LO_V4)),
        SocketOption::AddMembership {
            group: GROUP_V4,
            interface: Some(LO_V4),
        },
    );
    requests(
        &mut socket,
        |s| s.drop_membership(now(), GROUP_V4, None),
        SocketOption::DropMembership {
            group: GROUP_V4,
            interface: None,
        },
    );
}

/// Node docs `dgram.md` › `socket.addMembership()`: udp6 joins IPv6 groups, and (Node 20 on
/// Linux) IPv4 ones.
#[test]
fn udp6_membership_takes_both_families() {
    let mut socket = socket_bound(Family::Udp6);
    requests(
        &mut socket,
        |s| s.add_membership(now(), GROUP_V6, Some(MulticastInterface::V6(1))),
        SocketOption::AddMembership {
            group: GROUP_V6,
            interface: Some(MulticastInterface::V6(1)),
        },
    );
    requests(
        &mut socket,
        |s| s.add_membership(now(), GROUP_V4, None),
        SocketOption::AddMembership {
            group: GROUP_V4,
            interface: None,
        },
    );
}

/// Node docs `dgram.md` › `socket.addSourceSpecificMembership()`,
/// `socket.dropSourceSpecificMembership()`.
#[test]
fn bound_source_specific_membership_requests_join_and_leave() {
    let mut socket = socket_bound(Family::Udp4);
    requests(
        &mut socket,
        |s| s.add_source_specific_membership(now(), SOURCE_V4, SSM_GROUP_V4, Some(LO_V4)),
        SocketOption::AddSourceSpecificMembership {
            source: SOURCE_V4,
            group: SSM_GROUP_V4,
            interface: Some(LO_V4),
        },
    );
    requests(
        &mut socket,
        |s| s.drop_source_specific_membership(now(), SOURCE_V4, SSM_GROUP_V4, None),
        SocketOption::DropSourceSpecificMembership {
            source: SOURCE_V4,
            group: SSM_GROUP_V4,
            interface: None,
        },
    );
}

/// Node docs `dgram.md` › `socket.setRecvBufferSize()`, `socket.setSendBufferSize()`; the
/// largest size libuv takes is `i32::MAX`.
#[test]
fn bound_buffer_sizes_request_them() {
    let mut socket = socket_bound(Family::Udp4);
    requests(
        &mut socket,
        |s| s.set_recv_buffer_size(now(), 4096),
        SocketOption::RecvBufferSize(4096),
    );
    requests(
        &mut socket,
        |s| s.set_send_buffer_size(now(), 2_147_483_647),
        SocketOption::SendBufferSize(2_147_483_647),
    );
}

/// Node 20: `setRecvBufferSize(0)` is accepted and leaves the size as it was (libuv reads
/// the size when given 0): no request.
#[test]
fn bound_buffer_size_zero_is_accepted_and_changes_nothing() {
    let mut socket = socket_bound(Family::Udp4);
    socket.set_recv_buffer_size(now(), 0).unwrap();
    socket.set_send_buffer_size(now(), 0).unwrap();
    let drained = drain(&mut socket);
    assert!(drained.actions.is_empty() && drained.events.is_empty());
}

// ---- bad arguments: Node 20's code, nothing changed ----

/// Node 20: `setTTL(0)` throws `EINVAL` (`setTTL EINVAL`).
#[test]
fn set_ttl_zero_einval() {
    let mut socket = socket_bound(Family::Udp4);
    rejects(
        &mut socket,
        |s| s.set_ttl(now(), 0),
        UsageError::BadTtl { ttl: 0 },
        "EINVAL",
    );
}

/// Node 20: `setTTL(256)` throws `EINVAL`.
#[test]
fn set_ttl_256_einval() {
    let mut socket = socket_bound(Family::Udp4);
    rejects(
        &mut socket,
        |s| s.set_ttl(now(), 256),
        UsageError::BadTtl { ttl: 256 },
        "EINVAL",
    );
}

/// Node 20: `setMulticastTTL(256)` throws `EINVAL`.
#[test]
fn set_multicast_ttl_256_einval() {
    let mut socket = socket_bound(Family::Udp4);
    rejects(
        &mut socket,
        |s| s.set_multicast_ttl(now(), 256),
        UsageError::BadMulticastTtl { ttl: 256 },
        "EINVAL",
    );
}

/// Node 20 (udp4): `setMulticastInterface('::1')` throws `ENOPROTOOPT`.
#[test]
fn udp4_set_multicast_interface_v6_enoprotoopt() {
    let mut socket = socket_bound(Family::Udp4);
    rejects(
        &mut socket,
        |s| s.set_multicast_interface(now(), MulticastInterface::V6(1)),
        UsageError::Ipv6OnUdp4,
        "ENOPROTOOPT",
    );
}

/// Node 20: `addMembership('10.0.0.1')` throws `EINVAL`.
#[test]
fn add_membership_unicast_group_einval() {
    let mut socket = socket_bound(Family::Udp4);
    let group = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    rejects(
        &mut socket,
        |s| s.add_membership(now(), group, None),
        UsageError::NotMulticast { group },
        "EINVAL",
    );
}

/// Node 20: `dropMembership('10.0.0.1')` throws `EINVAL` too (same check).
#[test]
fn drop_membership_unicast_group_einval() {
    let mut socket = socket_bound(Family::Udp4);
    let group = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    rejects(
        &mut socket,
        |s| s.drop_membership(now(), group, None),
        UsageError::NotMulticast { group },
        "EINVAL",
    );
}

/// Node 20 (udp6): `addMembership('fe80::1')` throws `EINVAL`.
#[test]
fn udp6_add_membership_unicast_group_einval() {
    let mut socket = socket_bound(Family::Udp6);
    let group = IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1));
    rejects(
        &mut socket,
        |s| s.add_membership(now(), group, None),
        UsageError::NotMulticast { group },
        "EINVAL",
    );
}

/// Node 20 (udp4): `addMembership('ff02::1')` throws `ENOPROTOOPT`.
#[test]
fn udp4_add_membership_v6_group_enoprotoopt() {
    let mut socket = socket_bound(Family::Udp4);
    rejects(
        &mut socket,
        |s| s.add_membership(now(), GROUP_V6, None),
        UsageError::Ipv6OnUdp4,
        "ENOPROTOOPT",
    );
}

/// Node 20: `addMembership('239.255.0.1', 'bad')`, an interface that is no IPv4 address,
/// throws `EINVAL`; here, an IPv6 interface for an IPv4 group.
#[test]
fn add_membership_interface_of_other_family_einval() {
    let mut socket = socket_bound(Family::Udp6);
    rejects(
        &mut socket,
        |s| s.add_membership(now(), GROUP_V4, Some(MulticastInterface::V6(1))),
        UsageError::MixedFamilies,
        "EINVAL",
    );
}

/// Node 20: `addSourceSpecificMembership('::1', '232.1.1.1')` throws `EINVAL`.
#[test]
fn ssm_v6_source_v4_group_einval() {
    let mut socket = socket_bound(Family::Udp4);
    rejects(
        &mut socket,
        |s| s.add_source_specific_membership(now(), SOURCE_V6, SSM_GROUP_V4, None),
        UsageError::MixedFamilies,
        "EINVAL",
    );
}

/// Node 20 (udp4): `addSourceSpecificMembership('::1', 'ff3e::1')` throws `ENOPROTOOPT`.
#[test]
fn udp4_ssm_v6_enoprotoopt() {
    let mut socket = socket_bound(Family::Udp4);
    let group = IpAddr::V6(Ipv6Addr::new(0xff3e, 0, 0, 0, 0, 0, 0, 1));
    rejects(
        &mut socket,
        |s| s.add_source_specific_membership(now(), SOURCE_V6, group, None),
        UsageError::Ipv6OnUdp4,
        "ENOPROTOOPT",
    );
}

/// Node 20: `addSourceSpecificMembership('127.0.0.1', '10.1.1.1')` throws `EINVAL`.
#[test]
fn ssm_unicast_group_einval() {
    let mut socket = socket_bound(Family::Udp4);
    let group = IpAddr::V4(Ipv4Addr::new(10, 1, 1, 1));
    rejects(
        &mut socket,
        |s| s.drop_source_specific_membership(now(), SOURCE_V4, group, None),
        UsageError::NotMulticast { group },
        "EINVAL",
    );
}

/// Node 20: `setRecvBufferSize(2 ** 32)` throws `ERR_SOCKET_BAD_BUFFER_SIZE` (`-1` and `1.5`
/// too, which a `usize` cannot hold).
#[test]
fn buffer_size_above_u32_bad_buffer_size() {
    let mut socket = socket_bound(Family::Udp4);
    let size = usize::try_from(u64::from(u32::MAX) + 1).unwrap();
    rejects(
        &mut socket,
        |s| s.set_recv_buffer_size(now(), size),
        UsageError::BadBufferSize { size },
        "ERR_SOCKET_BAD_BUFFER_SIZE",
    );
}

/// Node 20: `setSendBufferSize(2 ** 31)` throws `ERR_SOCKET_BUFFER_SIZE` (libuv: `EINVAL`),
/// bound or not.
#[test]
fn buffer_size_above_i32_buffer_size_error() {
    let size = 2_147_483_648;
    for mut socket in [socket_bound(Family::Udp4), socket_unbound(Family::Udp4)] {
        rejects(
            &mut socket,
            |s| s.set_send_buffer_size(now(), size),
            UsageError::BufferSizeTooLarge { size },
            "ERR_SOCKET_BUFFER_SIZE",
        );
    }
}

// ---- state: before the bind, after close ----

/// Node 20, unbound udp4: `setBroadcast`, `setTTL(64)`, `setMulticastTTL(1)`,
/// `setMulticastLoopback`, `setMulticastInterface('127.0.0.1')` each throw `EBADF`.
#[test]
fn unbound_options_ebadf() {
    let mut socket = socket_unbound(Family::Udp4);
    let not_bound = UsageError::NotBound;
    rejects(
        &mut socket,
        |s| s.set_broadcast(now(), true),
        not_bound,
        "EBADF",
    );
    rejects(&mut socket, |s| s.set_ttl(now(), 64), not_bound, "EBADF");
    rejects(
        &mut socket,
        |s| s.set_multicast_ttl(now(), 1),
        not_bound,
        "EBADF",
    );
    rejects(
        &mut socket,
        |s| s.set_multicast_loopback(now(), true),
        not_bound,
        "EBADF",
    );
    rejects(
        &mut socket,
        |s| s.set_multicast_interface(now(), LO_V4),
        not_bound,
        "EBADF",
    );
}

/// Memberships need the bind too (EBADF) where Node lets libuv bind the OS socket behind
/// its back (see the crate docs, Limits); a bind still in progress does not count.
#[test]
fn binding_membership_ebadf() {
    let mut socket = socket_unbound(Family::Udp4);
    socket.bind(now(), None).unwrap();
    drain(&mut socket);
    rejects(
        &mut socket,
        |s| s.add_membership(now(), GROUP_V4, None),
        UsageError::NotBound,
        "EBADF",
    );
    rejects(
        &mut socket,
        |s| s.add_source_specific_membership(now(), SOURCE_V4, SSM_GROUP_V4, None),
        UsageError::NotBound,
        "EBADF",
    );
}

/// Node 20, unbound: `setTTL(0)` throws `EINVAL`, not `EBADF`: the arguments are checked
/// before the bind.
#[test]
fn unbound_bad_ttl_einval_before_ebadf() {
    let mut socket = socket_unbound(Family::Udp4);
    rejects(
        &mut socket,
        |s| s.set_ttl(now(), 0),
        UsageError::BadTtl { ttl: 0 },
        "EINVAL",
    );
}

/// Node 20, unbound: `setRecvBufferSize(4096)` and `setSendBufferSize(4096)` throw
/// `ERR_SOCKET_BUFFER_SIZE` (libuv: `EBADF`).
#[test]
fn unbound_buffer_size_buffer_size_error() {
    let mut socket = socket_unbound(Family::Udp4);
    rejects(
        &mut socket,
        |s| s.set_recv_buffer_size(now(), 4096),
        UsageError::BufferSizeNotBound,
        "ERR_SOCKET_BUFFER_SIZE",
    );
    rejects(
        &mut socket,
        |s| s.set_send_buffer_size(now(), 4096),
        UsageError::BufferSizeNotBound,
        "ERR_SOCKET_BUFFER_SIZE",
    );
}

/// Node 20: `getRecvBufferSize()` and `getSendBufferSize()` throw `ERR_SOCKET_BUFFER_SIZE`
/// before the bind, `ERR_SOCKET_DGRAM_NOT_RUNNING` after `close()`, and ask the OS between
/// (Node docs `dgram.md` › `socket.getRecvBufferSize()`).
#[test]
fn get_buffer_size_only_while_bound() {
    let socket = socket_unbound(Family::Udp4);
    let unbound = socket.check_get_buffer_size().unwrap_err();
    assert_eq!(unbound, Error::Usage(UsageError::BufferSizeNotBound));
    assert_eq!(unbound.code(), "ERR_SOCKET_BUFFER_SIZE");
    let mut socket = socket_bound(Family::Udp4);
    assert_eq!(socket.check_get_buffer_size(), Ok(()));
    socket.close(now()).unwrap();
    let closed = socket.check_get_buffer_size().unwrap_err();
    assert_eq!(closed.code(), "ERR_SOCKET_DGRAM_NOT_RUNNING");
}

/// Node 20 after `close()`: `addMembership` and `setMulticastInterface` throw
/// `ERR_SOCKET_DGRAM_NOT_RUNNING` (the others a `TypeError` on the null handle); here every
/// option does, before its arguments are checked.
#[test]
fn closed_options_not_running() {
    let mut socket = socket_bound(Family::Udp4);
    socket.close(now()).unwrap();
    drain(&mut socket);
    let code = "ERR_SOCKET_DGRAM_NOT_RUNNING";
    let nr = UsageError::NotRunning;
    rejects(&mut socket, |s| s.set_broadcast(now(), true), nr, code);
    rejects(&mut socket, |s| s.set_ttl(now(), 0), nr, code);
    rejects(&mut socket, |s| s.set_multicast_ttl(now(), 1), nr, code);
    rejects(
        &mut socket,
        |s| s.set_multicast_loopback(now(), true),
        nr,
        code,
    );
    rejects(
        &mut socket,
        |s| s.set_multicast_interface(now(), LO_V4),
        nr,
        code,
    );
    rejects(
        &mut socket,
        |s| s.add_membership(now(), GROUP_V4, None),
        nr,
        code,
    );
    rejects(
        &mut socket,
        |s| s.drop_membership(now(), GROUP_V4, None),
        nr,
        code,
    );
    rejects(
        &mut socket,
        |s| s.add_source_specific_membership(now(), SOURCE_V4, SSM_GROUP_V4, None),
        nr,
        code,
    );
    rejects(
        &mut socket,
        |s| s.drop_source_specific_membership(now(), SOURCE_V4, SSM_GROUP_V4, None),
        nr,
        code,
    );
    rejects(&mut socket, |s| s.set_recv_buffer_size(now(), 1), nr, code);
    rejects(&mut socket, |s| s.set_send_buffer_size(now(), 1), nr, code);
}

// ---- the driver's failures ----

/// Node 20: `addMembership` twice throws `EADDRINUSE` (`addMembership EADDRINUSE`); here the
/// OS refuses it in the driver and the failure is an `'error'` naming the method. The socket
/// stays bound and usable.
#[test]
fn option_error_emits_error_naming_the_method() {
    let mut socket = socket_bound(Family::Udp4);
    let option = SocketOption::AddMembership {
        group: GROUP_V4,
        interface: None,
    };
    socket.handle_option_error(now(), option, ErrorKind::AddrInUse);
    let drained = drain(&mut socket);
    let error = Error::SocketOption {
        option,
        kind: ErrorKind::AddrInUse,
    };
    assert_eq!(drained.events, [SocketEvent::Error(error.clone())]);
    assert_eq!(error.code(), "EADDRINUSE");
    assert!(error.to_string().starts_with("addMembership: "), "{error}");
    assert!(socket.wants_read());
    socket.set_broadcast(now(), true).unwrap();
}

/// Node 20: a buffer size the OS refuses is `ERR_SOCKET_BUFFER_SIZE`, whatever the errno.
#[test]
fn buffer_size_option_error_is_err_socket_buffer_size() {
    let mut socket = socket_bound(Family::Udp4);
    let option = SocketOption::RecvBufferSize(4096);
    socket.handle_option_error(now(), option, ErrorKind::InvalidInput);
    let drained = drain(&mut socket);
    let [SocketEvent::Error(error)] = &drained.events[..] else {
        panic!("one error expected, got {:?}", drained.events);
    };
    assert_eq!(error.code(), "ERR_SOCKET_BUFFER_SIZE");
}

/// An option failure reported after `close()` is ignored: nothing follows `'close'`.
#[test]
fn closed_option_error_ignored() {
    let mut socket = socket_bound(Family::Udp4);
    socket.close(now()).unwrap();
    drain(&mut socket);
    socket.handle_option_error(now(), SocketOption::Broadcast(true), ErrorKind::Other);
    assert!(drain(&mut socket).events.is_empty());
}

/// `close()` withdraws option requests the driver has not taken yet.
#[test]
fn close_withdraws_pending_option_requests() {
    let mut socket = socket_bound(Family::Udp4);
    socket.set_broadcast(now(), true).unwrap();
    socket.close(now()).unwrap();
    assert_eq!(drain(&mut socket).actions, [Action::Close]);
}
