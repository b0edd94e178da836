//! The queue backends this binary knows, and which of them were compiled in.
//!
//! A Cargo feature *enables* a backend (features are additive, so a build may
//! hold several); `--queue NAME` *chooses* one of those at run time. The
//! features are pluggable-runtime's, and so are the answers: which backends
//! are enabled, which is the default, and the dispatch from a name to a queue
//! type ([`pluggable_runtime::backends`]). This enum only gives the names to
//! clap.

use std::fmt;

use clap::{ValueEnum, builder::PossibleValue};
use pluggable_runtime::backends;

/// A queue backend, by the name `--queue` takes: one of the facade's list
/// ([`backends::ORDER`]), the one place a backend is added.
///
/// Every backend is listed whether or not it was compiled in, so that asking
/// for a missing one gets an error that names its feature rather than clap's
/// "invalid value".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backend(&'static str);

impl Backend {
    /// Every backend, in the order the default is picked from (the order of
    /// `pluggable_runtime::DefaultQueue`).
    pub const ALL: [Backend; backends::ORDER.len()] = {
        let mut all = [Backend(""); backends::ORDER.len()];
        let mut i = 0;
        while i < all.len() {
            all[i] = Backend(backends::ORDER[i]);
            i += 1;
        }
        all
    };

    /// The name on the command line, which is also the feature's name (and
    /// its crate is `queue-{name}`).
    pub fn name(self) -> &'static str {
        self.0
    }

    /// Whether this build has the backend's feature on.
    pub fn is_compiled_in(self) -> bool {
        backends::is_enabled(self.name())
    }

    /// The backends this build has, in default order.
    pub fn compiled_in() -> impl Iterator<Item = Backend> {
        Self::ALL.into_iter().filter(|b| b.is_compiled_in())
    }

    /// Resolves `--queue`: the requested backend if it is compiled in, else
    /// the default (`pluggable_runtime::DefaultQueue`'s); an error that says
    /// which feature to enable otherwise.
    pub fn choose(requested: Option<Backend>) -> Result<Backend, NotCompiledIn> {
        match requested {
            Some(backend) if backend.is_compiled_in() => Ok(backend),
            Some(backend) => Err(NotCompiledIn(Some(backend))),
            None => {
                let default =
                    backends::DEFAULT.and_then(|name| Self::ALL.into_iter().find(|b| b.name() == name));
                default.ok_or(NotCompiledIn(None))
            }
        }
    }
}

impl ValueEnum for Backend {
    fn value_variants<'a>() -> &'a [Self] {
        &Self::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        let state = if self.is_compiled_in() { "compiled in" } else { "not compiled in" };
        Some(PossibleValue::new(self.0).help(format!("queue-{}, {state}", self.0)))
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A backend was asked for (or, with `None`, any backend was needed) that
/// this build does not have.
#[derive(Debug)]
pub struct NotCompiledIn(pub Option<Backend>);

impl fmt::Display for NotCompiledIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(backend) => {
                write!(
                    f,
                    "backend `{backend}` is not compiled in; run `cargo run -p demo --features {backend} -- \
                     --queue {backend}` (or build with `--features all-queues`)"
                )?;
                let have: Vec<_> = Backend::compiled_in().map(Backend::name).collect();
                if !have.is_empty() {
                    write!(f, ". This build has: {}", have.join(", "))?;
                }
                Ok(())
            }
            None => {
                let features: Vec<_> = backends::ORDER.iter().map(|b| format!("`--features {b}`")).collect();
                write!(
                    f,
                    "no queue backend is compiled in; enable one with {} or `--features all-queues`",
                    features.join(", ")
                )
            }
        }
    }
}

impl std::error::Error for NotCompiledIn {}
