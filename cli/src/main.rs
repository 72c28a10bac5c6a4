//! The `lockcheck` command: run a program built with the library and report
//! what it found; analyse recorded traces; run the fixture catalogue.

fn main() {
    std::process::exit(lockcheck_cli::main());
}
