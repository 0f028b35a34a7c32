use clap::Parser;

fn main() {
    let cli = densenet_lab::cli::Cli::parse();
    if let Err(err) = densenet_lab::cli::run(cli) {
        eprintln!("error: {err:#}");
        std::process::exit(densenet_lab::cli::exit_code(&err));
    }
}
