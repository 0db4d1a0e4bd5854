fn main() -> std::process::ExitCode {
    psa::cli::main()
}
