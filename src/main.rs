//! The `hearth` executable; everything lives in the library.

fn main() -> std::process::ExitCode {
    hearth::run::main()
}
