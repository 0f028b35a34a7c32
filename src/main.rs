use clap::Parser;

fn main() {
    // SAFETY: the first statement of main, before any thread exists.
    unsafe { densenet_lab::devices::quiet_vulkan_loader() };
    let cli = densenet_lab::cli::Cli::parse();
    if let Err(err) = densenet_lab::cli::run(cli) {
        let code = densenet_lab::cli::exit_code(&err);
        // Code 0 here is a closed output pipe: nothing went wrong, so nothing to say.
        if code != 0 {
            eprintln!("error: {err:#}");
        }
        std::process::exit(code);
    }
}
