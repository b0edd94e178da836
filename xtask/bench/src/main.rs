//! `cargo xtask bench` (which builds this crate in release and runs it); the
//! harness is the library, `bench`, whose docs say what is where.

fn main() -> std::process::ExitCode {
    bench::main()
}
