//! The `pqap` command line: parses arguments and hands off to the library.

mod cli;

fn main() -> std::process::ExitCode {
    // Rust ignores SIGPIPE, so `pqap trades | head` would panic on the closed
    // pipe; a command-line tool should end quietly instead, as `cat` does.
    #[cfg(unix)]
    // SAFETY: called before any other thread exists; restores the default action.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    cli::main()
}
