//! The master key file: read it, or create it (mode 0600) on first start.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context};
use tessera_keys::MasterKey;

pub fn load_or_create(path: &Path) -> anyhow::Result<MasterKey> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            check_permissions(path)?;
            MasterKey::from_base64(&text)
                .with_context(|| format!("master key file {}", path.display()))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => create(path),
        Err(error) => Err(error).with_context(|| format!("reading {}", path.display())),
    }
}

fn create(path: &Path) -> anyhow::Result<MasterKey> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let key = MasterKey::generate()?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating master key file {}", path.display()))?;
    writeln!(file, "{}", key.to_base64())?;
    file.sync_all()?;
    tracing::warn!(path = %path.display(), "generated a new master key: back it up, signing keys cannot be opened without it");
    Ok(key)
}

#[cfg(unix)]
fn check_permissions(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)?.permissions().mode();
    if mode & 0o077 != 0 {
        bail!(
            "master key file {} is accessible to group or others (mode {:o}); run chmod 600",
            path.display(),
            mode & 0o777
        );
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_path: &Path) -> anyhow::Result<()> {
    Ok(())
}
