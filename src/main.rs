fn main() {
    std::process::exit(fivehundred::cli::run());
}
