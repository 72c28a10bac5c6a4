//! The `lockcheck` command: run a program built with the library and report
//! what it found; run the fixture catalogue.

mod cli;

fn main() {
    std::process::exit(cli::main());
}
