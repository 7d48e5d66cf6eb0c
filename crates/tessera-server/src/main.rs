use clap::Parser;
use std::io::IsTerminal;

use tessera_server::cli::{Cli, Command, Console};
use tracing_subscriber::EnvFilter;

fn main() -> anyhow::Result<()> {
    pin_mmap_threshold();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

/// glibc raises its mmap threshold after the first large free, so later argon2
/// working buffers (19 MiB each) are carved from per-thread arenas and stay
/// resident long after use. A fixed threshold keeps every large buffer in a mapping
/// of its own that goes back to the system when freed (idle RSS about 10 MB
/// instead of 30 MB).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn pin_mmap_threshold() {
    // SAFETY: mallopt(3) only changes allocator parameters; this runs first thing
    // in main, before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn pin_mmap_threshold() {}

async fn run() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(config) => {
            let server = tessera_server::start(&config, shutdown_signal()).await?;
            server.wait().await
        }
        command => {
            let interactive = std::io::stdin().is_terminal();
            let mut input = std::io::stdin().lock();
            let mut output = std::io::stdout().lock();
            let mut console = Console {
                input: &mut input,
                output: &mut output,
                interactive,
            };
            tessera_server::cli::run_admin(command, &mut console).await
        }
    }
}

/// SIGINT or SIGTERM start a graceful shutdown.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
    tracing::info!("shutdown signal received");
}
