//! The feature `net`: sockets and timers used outside a runtime (here in
//! another executor's `block_on`) panic with a message that says where to
//! use them, instead of hanging.
#![cfg(unix)]

use std::panic::{AssertUnwindSafe, catch_unwind};

use futures_lite::future::block_on;
use pluggable_runtime::net::{TcpListener, TcpStream, UdpSocket};

fn message_of(f: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(f)).expect_err("used outside a runtime, it must panic");
    match (payload.downcast_ref::<String>(), payload.downcast_ref::<&str>()) {
        (Some(s), _) => s.clone(),
        (None, Some(s)) => (*s).to_owned(),
        (None, None) => panic!("the payload is not a string"),
    }
}

#[test]
fn sockets_outside_a_runtime_say_where_to_use_them() {
    for message in [
        message_of(|| drop(block_on(TcpListener::bind("127.0.0.1:0")))),
        message_of(|| drop(block_on(UdpSocket::bind("127.0.0.1:0")))),
        message_of(|| {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            drop(block_on(TcpStream::connect(listener.local_addr().unwrap())));
        }),
    ] {
        assert!(
            message.contains("from a task or inside Runtime::block_on") && message.contains("`net`"),
            "the message says what to do: {message}"
        );
    }
}

#[test]
fn timers_outside_a_runtime_say_where_to_use_them() {
    let message = message_of(|| drop(pluggable_runtime::time::sleep(std::time::Duration::from_millis(1))));
    assert!(
        message.contains("called outside a runtime") && message.contains("Runtime::block_on"),
        "{message}"
    );
}
