//! The `vpcflow` command line: parse the flags (`cli`), run the subcommand (`app`), exit with
//! the status its outcome maps to (`app::messages`).

mod app;
mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    app::messages::init_logging(cli.verbose);
    vpcflow::input::aws::use_profile(cli.profile.as_deref());
    if let Err(e) = vpcflow::cleanup::remove_on_signals() {
        app::messages::warn(format_args!(
            "Ctrl-C will leave temporary files behind: {e}"
        ));
    }
    app::messages::exit_code(app::run(&cli.command))
}
