//! What the first start on an empty database does with the secrets it creates (the SCIM
//! token, the first administrator's password): they go to a file only the server's user can
//! read, never to a log.
//!
//! Under systemd or in a container, stdout is the journal or the container log, kept and
//! shipped far and wide; a secret printed there is a secret shared. So the first start
//! writes them to [`FIRST_START_SECRETS`] in the data folder (`--data-dir`, by default the
//! SQLite file's folder), created exclusively (an existing file is never overwritten) with
//! mode 0600, before the database commits them: when the file cannot be written, nothing is
//! created and the start fails. They are printed on stdout too only when stdout is a
//! terminal (someone is watching); otherwise stdout says where the file is.
//!
//! Commands that create a secret on request (`scimd token create`, `scimd admin create`,
//! `scimd admin reset-password`) keep printing it on stdout, for scripts.

use crate::scim_routes;
use scimd_directory::directory::Bootstrap;
use std::io::{self, Write};
use std::path::Path;

/// The name of the file the first start writes its secrets to, in the data folder.
pub const FIRST_START_SECRETS: &str = "first-start-secrets.txt";

/// The text of the first start's secrets: the SCIM base URL and the token, labelled for
/// pasting into Microsoft Entra ID, then the portal's URL and its first administrator with
/// its password (to be changed at the first sign-in).
pub fn banner(scim_base: &str, b: &Bootstrap) -> String {
    let portal = scim_base
        .strip_suffix(scim_routes::BASE)
        .unwrap_or(scim_base);
    format!(
        "scimd initialised a new database and created a SCIM token.\n\
         \n\
         SCIM Tenant URL: {scim_base}\n\
         Secret Token: {}\n\
         \n\
         Paste these into Microsoft Entra ID: Enterprise application > Provisioning >\n\
         Admin Credentials (Tenant URL and Secret Token), then Test Connection.\n\
         Create more tokens with `scimd token create --name NAME`.\n\
         \n\
         Portal: {portal}/\n\
         Administrator: {}\n\
         Password: {}\n\
         \n\
         The password must be changed at the first sign-in; if it is lost, reset it with\n\
         `scimd admin reset-password --username {}`.\n",
        b.scim_token, b.admin_username, b.admin_password, b.admin_username
    )
}

/// Writes `text` to `path`, which must not exist, readable and writable by this user only
/// (mode 0600 on Unix). Errors: the file exists, or cannot be created or written.
pub fn write(path: &Path, text: &str) -> io::Result<()> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let mut f = o.open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

/// What `scimd serve` prints on stdout after a first start whose secrets are in `path`:
/// the secrets themselves when stdout is a terminal, else only where they are.
pub fn announcement(path: &Path, banner: &str, terminal: bool) -> String {
    if terminal {
        format!(
            "{banner}\nThese are also in {} (readable by this user only); delete it once they are kept elsewhere.\n",
            path.display()
        )
    } else {
        format!(
            "scimd initialised a new database. Its SCIM token and the first administrator's password are in {} (readable by this user only): read them, then delete the file.\n",
            path.display()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_once_for_this_user_only() {
        let dir = std::env::temp_dir().join(format!("scimd-first-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(FIRST_START_SECRETS);
        write(&path, "secret\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "secret\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let e = write(&path, "other\n").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "secret\n");
        let quiet = announcement(&path, "Secret Token: x", false);
        assert!(!quiet.contains("Secret Token") && quiet.contains(FIRST_START_SECRETS));
        assert!(announcement(&path, "Secret Token: x", true).starts_with("Secret Token: x"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
