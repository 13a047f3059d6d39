//! Where `go env -w` writes on a host: the file GOENV names, as the host's go
//! reports it for the login shell's environment (`go env GOENV`). `goenv` and
//! `proxy` write there, so that the go the user runs reads what they set.

/// The go env file of a host.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum GoEnvFile {
  /// The host has no go to ask yet: the go command's default,
  /// [`GoEnvFile::DEFAULT`].
  #[default]
  Default,
  /// The file the host's go reports: an absolute path.
  Path(String),
  /// `GOENV=off`: the go command reads no go env file.
  Off,
  /// The host's go reports nothing (no home or config directory to put it in),
  /// or a relative path, which go resolves from whatever directory it runs in.
  Unusable(String),
}

impl GoEnvFile {
  /// Where `go env -w` writes when GOENV is not set and `XDG_CONFIG_HOME` is not
  /// either.
  pub const DEFAULT: &'static str = "~/.config/go/env";

  /// Reads the `go.env.goenv` fact: `None` when the host has no go.
  pub fn from_fact(reported: Option<&str>) -> GoEnvFile {
    match reported {
      None => GoEnvFile::Default,
      Some("off") => GoEnvFile::Off,
      Some(path) if path.starts_with('/') => GoEnvFile::Path(path.to_owned()),
      Some(other) => GoEnvFile::Unusable(other.to_owned()),
    }
  }
}

#[cfg(test)]
mod tests {
  use super::GoEnvFile;

  #[test]
  fn the_fact_decides_the_file() {
    assert_eq!(GoEnvFile::from_fact(None), GoEnvFile::Default);
    assert_eq!(GoEnvFile::from_fact(Some("/etc/go/env")), GoEnvFile::Path("/etc/go/env".to_owned()));
    assert_eq!(GoEnvFile::from_fact(Some("off")), GoEnvFile::Off);
    assert_eq!(GoEnvFile::from_fact(Some("")), GoEnvFile::Unusable(String::new()));
    assert_eq!(GoEnvFile::from_fact(Some("go.env")), GoEnvFile::Unusable("go.env".to_owned()));
  }
}
