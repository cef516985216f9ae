fn main() {
    std::process::exit(dockhard::cli::main());
}
