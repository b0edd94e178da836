//! [`join!`](crate::join!) and [`try_join!`](crate::try_join!): several
//! futures, all polled concurrently by the current task (none is spawned).
//!
//! Each future sits in a [`MaybeDone`] pinned on the stack of the awaiting
//! future; every poll of the join polls each future that has not finished
//! yet, in argument order, and keeps the outputs of those that have. A
//! future is dropped as soon as it finishes, and the join is ready when all
//! are. `try_join!` returns as soon as a future gives an `Err`: the futures
//! still running are dropped with the join, before it returns.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

pin_project_lite::pin_project! {
    /// A future and, once it has finished, its output. Public only so that
    /// the macros can reach it.
    #[doc(hidden)]
    #[derive(Debug)]
    pub struct MaybeDone<F: Future> {
        #[pin]
        future: Option<F>,
        output: Option<F::Output>,
    }
}

impl<F: Future> MaybeDone<F> {
    /// Wraps `future`, not yet polled.
    pub fn new(future: F) -> Self {
        Self { future: Some(future), output: None }
    }

    /// Polls the future unless it has finished; `true` once it has.
    pub fn poll_done(self: Pin<&mut Self>, cx: &mut Context<'_>) -> bool {
        let mut this = self.project();
        let Some(future) = this.future.as_mut().as_pin_mut() else { return true };
        match future.poll(cx) {
            Poll::Ready(output) => {
                *this.output = Some(output);
                this.future.set(None);
                true
            }
            Poll::Pending => false,
        }
    }

    /// The output, once [`MaybeDone::poll_done`] said `true`.
    pub fn take_output(self: Pin<&mut Self>) -> F::Output {
        self.project().output.take().expect("join!: an output taken twice, or before its future finished")
    }
}

impl<F, T, E> MaybeDone<F>
where
    F: Future<Output = Result<T, E>>,
{
    /// Like [`MaybeDone::poll_done`], but an `Err` output is handed back at
    /// once rather than kept.
    pub fn poll_try_done(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Result<bool, E> {
        if !self.as_mut().poll_done(cx) {
            return Ok(false);
        }
        let output = self.project().output;
        match output.take() {
            Some(Err(error)) => Err(error),
            ok => {
                *output = ok;
                Ok(true)
            }
        }
    }

    /// The `Ok` output, once [`MaybeDone::poll_try_done`] said `Ok(true)`.
    pub fn take_ok(self: Pin<&mut Self>) -> T {
        match self.take_output() {
            Ok(value) => value,
            Err(_) => unreachable!("try_join!: an Err output is returned, never kept"),
        }
    }
}

/// Waits for all the futures (anything `IntoFuture`, [`Task`](crate::Task)s
/// included), polling them concurrently in the current task, and gives their
/// outputs as a tuple, in argument order.
///
/// It must be used inside an async context: it awaits.
///
/// ```
/// use std::time::Duration;
///
/// let (a, b, c) = pluggable_runtime::block_on(async {
///     let slow = pluggable_runtime::spawn(async { 1 });
///     pluggable_runtime::join!(slow, async { "two" }, std::future::ready(3.0))
/// });
/// assert_eq!((a, b, c), (1, "two", 3.0));
/// ```
#[macro_export]
macro_rules! join {
    ($($future:expr),+ $(,)?) => {
        $crate::__join!(@name join [] $($future,)+)
    };
}

/// Like [`join!`], for futures that give `Result<_, E>` (one `E` for all):
/// `Ok` with the tuple of the `Ok` values once all have succeeded, or the
/// first `Err` as soon as a future gives one; the futures still running are
/// then dropped, before it returns.
///
/// ```
/// let result = pluggable_runtime::block_on(async {
///     pluggable_runtime::try_join!(
///         async { Ok::<_, String>(1) },
///         async { Err::<u8, _>("no".to_owned()) },
///         std::future::pending::<Result<(), String>>(), // dropped, never awaited to the end
///     )
/// });
/// assert_eq!(result, Err("no".to_owned()));
///
/// let both = pluggable_runtime::block_on(async {
///     pluggable_runtime::try_join!(async { Ok::<_, String>(1) }, async { Ok(2) })
/// });
/// assert_eq!(both, Ok((1, 2)));
/// ```
#[macro_export]
macro_rules! try_join {
    ($($future:expr),+ $(,)?) => {
        $crate::__join!(@name try_join [] $($future,)+)
    };
}

/// The body of [`join!`] and [`try_join!`]. Public only so that they can
/// reach it.
///
/// Each `@name` step binds the next future to the identifier `future`, which
/// macro hygiene makes a different variable at every step of the recursion.
#[doc(hidden)]
#[macro_export]
macro_rules! __join {
    (@name $mode:ident [$($name:ident = $value:expr,)*] $next:expr, $($rest:expr,)*) => {
        $crate::__join!(@name $mode [$($name = $value,)* future = $next,] $($rest,)*)
    };
    (@name join [$($name:ident = $value:expr,)*]) => {{
        $(
            let mut $name = $crate::__private::pin!($crate::__private::MaybeDone::new(
                $crate::__private::IntoFuture::into_future($value),
            ));
        )*
        $crate::__private::poll_fn(|cx| {
            let mut all_done = true;
            $( all_done &= $name.as_mut().poll_done(cx); )*
            if all_done {
                $crate::__private::Poll::Ready(($( $name.as_mut().take_output(), )*))
            } else {
                $crate::__private::Poll::Pending
            }
        })
        .await
    }};
    (@name try_join [$($name:ident = $value:expr,)*]) => {{
        $(
            let mut $name = $crate::__private::pin!($crate::__private::MaybeDone::new(
                $crate::__private::IntoFuture::into_future($value),
            ));
        )*
        $crate::__private::poll_fn(|cx| {
            let mut all_done = true;
            $(
                match $name.as_mut().poll_try_done(cx) {
                    ::core::result::Result::Ok(done) => all_done &= done,
                    ::core::result::Result::Err(error) => {
                        return $crate::__private::Poll::Ready(::core::result::Result::Err(error));
                    }
                }
            )*
            if all_done {
                $crate::__private::Poll::Ready(::core::result::Result::Ok(($( $name.as_mut().take_ok(), )*)))
            } else {
                $crate::__private::Poll::Pending
            }
        })
        .await
    }};
}
