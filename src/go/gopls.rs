//! Which Go each release of gopls and dlv works with.
//!
//! gopls: the Go versions of the `go` command a release supports without
//! warnings come from `gopls/internal/util/goversion/goversion.go` (its
//! `Supported` table, unchanged from gopls v0.16.0 to v0.23.0) and the older
//! support table of `gopls/doc/index.md`; the Go a release needs to be built
//! (`go install`) is the `go` line of `gopls/go.mod` at each `gopls/vX.Y.Z` tag
//! of golang.org/x/tools (read at commit 8f0f8c7bde0e, 2026-08-20). The release
//! notes (`gopls/doc/release/v0.17.0.md`) say why: from v0.17.0 gopls must be
//! built with the newest Go and talks to the newest go commands only.
//!
//! dlv: `MinSupportedVersionOfGoMinor` and `MaxSupportedVersionOfGoMinor` of
//! `pkg/goversion/compat.go` at each tag of github.com/go-delve/delve (read at
//! commit 3b77598674c2, 2026-08-21); dlv refuses to debug a program built by a
//! Go outside that range unless `--check-go-version=false`.

use std::cmp::Ordering;

/// One gopls minor release line (`v0.17.x`).
struct Gopls {
  /// `(0, 17)`.
  release: (u64, u64),
  /// The oldest `go` command (Go 1.N) it supports without warnings.
  oldest_go: u64,
  /// The Go its `go.mod` requires to build it (at the line's last patch release); `go install` with an older Go
  /// and `GOTOOLCHAIN=local` fails.
  build_go: &'static str,
}

/// gopls release lines, oldest first. Earlier lines (v0.6 and older) are left
/// out: no supported Go runs them.
const GOPLS: &[Gopls] = &[
  Gopls { release: (0, 7), oldest_go: 12, build_go: "1.18" },
  Gopls { release: (0, 8), oldest_go: 13, build_go: "1.18" },
  Gopls { release: (0, 9), oldest_go: 13, build_go: "1.18" },
  Gopls { release: (0, 10), oldest_go: 16, build_go: "1.18" },
  Gopls { release: (0, 11), oldest_go: 16, build_go: "1.18" },
  Gopls { release: (0, 12), oldest_go: 18, build_go: "1.18" },
  Gopls { release: (0, 13), oldest_go: 18, build_go: "1.18" },
  Gopls { release: (0, 14), oldest_go: 18, build_go: "1.18" },
  Gopls { release: (0, 15), oldest_go: 19, build_go: "1.18" },
  Gopls { release: (0, 16), oldest_go: 21, build_go: "1.19" },
  Gopls { release: (0, 17), oldest_go: 21, build_go: "1.23.1" },
  Gopls { release: (0, 18), oldest_go: 21, build_go: "1.23.4" },
  Gopls { release: (0, 19), oldest_go: 21, build_go: "1.24.2" },
  Gopls { release: (0, 20), oldest_go: 21, build_go: "1.24.2" },
  Gopls { release: (0, 21), oldest_go: 21, build_go: "1.25" },
  Gopls { release: (0, 22), oldest_go: 21, build_go: "1.26.0" },
  Gopls { release: (0, 23), oldest_go: 21, build_go: "1.26.0" },
];

/// One dlv minor release line, with the Go range its `compat.go` accepts
/// (Go 1.N, both ends included). Where patch releases differ, the range of
/// the last one.
struct Dlv {
  release: (u64, u64),
  patch_from: u64,
  go: (u64, u64),
}

const DLV: &[Dlv] = &[
  Dlv { release: (1, 7), patch_from: 0, go: (15, 17) },
  Dlv { release: (1, 8), patch_from: 0, go: (16, 18) },
  Dlv { release: (1, 9), patch_from: 0, go: (16, 19) },
  Dlv { release: (1, 9), patch_from: 1, go: (17, 19) },
  Dlv { release: (1, 20), patch_from: 0, go: (18, 20) },
  Dlv { release: (1, 21), patch_from: 0, go: (18, 21) },
  Dlv { release: (1, 21), patch_from: 1, go: (19, 21) },
  Dlv { release: (1, 22), patch_from: 0, go: (19, 22) },
  Dlv { release: (1, 23), patch_from: 0, go: (21, 23) },
  Dlv { release: (1, 24), patch_from: 0, go: (21, 24) },
  Dlv { release: (1, 25), patch_from: 0, go: (21, 24) },
  Dlv { release: (1, 25), patch_from: 1, go: (22, 25) },
  Dlv { release: (1, 26), patch_from: 0, go: (24, 26) },
  Dlv { release: (1, 27), patch_from: 0, go: (25, 27) },
];

/// Whether a tool release works with a Go release.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fit {
  Fits,
  /// It does not; the reason, in words that name both versions and the
  /// releases that would fit.
  Misfit(String),
  /// The table has no row for the tool release (too old, too new, not a
  /// release version such as `latest`), or the Go version cannot be read.
  Unknown,
}

/// `v0.17.1` → `(0, 17, 1)`; pre-release and build suffixes are dropped.
fn semver(version: &str) -> Option<(u64, u64, u64)> {
  let v = version.trim().strip_prefix('v')?;
  let v = v.split(['-', '+']).next()?;
  let mut parts = v.split('.').map(|p| p.parse::<u64>().ok());
  Some((parts.next()??, parts.next()??, parts.next().flatten().unwrap_or(0)))
}

/// `go1.22.3`, `1.22.3`, `1.22` → `(1, 22, 3)`.
fn go_release(go: &str) -> Option<(u64, u64, u64)> {
  let g = go.trim().strip_prefix("go").unwrap_or(go.trim());
  let g = g.split(|c: char| !(c.is_ascii_digit() || c == '.')).next()?;
  let mut parts = g.split('.').map(|p| p.parse::<u64>().ok());
  Some((parts.next()??, parts.next()??, parts.next().flatten().unwrap_or(0)))
}

fn cmp_go(a: (u64, u64, u64), b: &str) -> Ordering {
  go_release(b).map_or(Ordering::Equal, |b| a.cmp(&b))
}

/// The gopls release lines that fit Go `go_v`: of those that support it and
/// build with it, the newest ones, those with the same oldest supported Go.
fn gopls_fitting(go_v: (u64, u64, u64), go: &str) -> String {
  let fitting: Vec<&Gopls> =
    GOPLS.iter().filter(|r| r.oldest_go <= go_v.1 && cmp_go(go_v, r.build_go) != Ordering::Less).collect();
  let Some(newest) = fitting.iter().map(|r| r.oldest_go).max() else {
    return format!("no gopls release in converge's table fits Go {go}");
  };
  let lines: Vec<String> = fitting
    .iter()
    .filter(|r| r.oldest_go == newest)
    .map(|r| format!("v{}.{}.x", r.release.0, r.release.1))
    .collect();
  match lines.as_slice() {
    [one] => format!("gopls {one} fits Go {go}"),
    [first, .., last] => format!("gopls {first} to {last} fit Go {go}"),
    [] => format!("no gopls release in converge's table fits Go {go}"),
  }
}

/// Whether gopls `gopls` (a module version, `v0.16.2`) supports the `go`
/// command of Go `go` (`1.22.3` or `go1.22.3`) without warnings, and whether
/// that Go can build it without downloading another toolchain.
pub fn gopls_supports(gopls: &str, go: &str) -> Fit {
  let (Some(tool), Some(go_v)) = (semver(gopls), go_release(go)) else { return Fit::Unknown };
  let Some(row) = GOPLS.iter().find(|r| r.release == (tool.0, tool.1)) else { return Fit::Unknown };
  if go_v.0 != 1 {
    return Fit::Unknown;
  }
  if go_v.1 < row.oldest_go {
    return Fit::Misfit(format!(
      "gopls {gopls} supports the go command of Go 1.{} and newer, not Go {go}; {}",
      row.oldest_go,
      gopls_fitting(go_v, go)
    ));
  }
  if cmp_go(go_v, row.build_go) == Ordering::Less {
    return Fit::Misfit(format!(
      "gopls {gopls} needs Go {} or newer to build, not Go {go}; {}",
      row.build_go,
      gopls_fitting(go_v, go)
    ));
  }
  Fit::Fits
}

/// Whether dlv `dlv` (a module version, `v1.23.1`) debugs programs built by
/// Go `go`.
pub fn dlv_supports(dlv: &str, go: &str) -> Fit {
  let (Some(tool), Some(go_v)) = (semver(dlv), go_release(go)) else { return Fit::Unknown };
  let Some(row) = DLV.iter().rev().find(|r| r.release == (tool.0, tool.1) && tool.2 >= r.patch_from) else {
    return Fit::Unknown;
  };
  if go_v.0 != 1 {
    return Fit::Unknown;
  }
  if (row.go.0..=row.go.1).contains(&go_v.1) {
    return Fit::Fits;
  }
  let fitting: Vec<String> = DLV
    .iter()
    .filter(|r| (r.go.0..=r.go.1).contains(&go_v.1))
    .map(|r| format!("v{}.{}.{}", r.release.0, r.release.1, r.patch_from))
    .collect();
  let range = match (fitting.first(), fitting.last()) {
    (Some(a), Some(b)) if a == b => format!("dlv {a} fits Go {go}"),
    (Some(a), Some(b)) => format!("dlv {a} to the last {b} release fit Go {go}"),
    _ => format!("no dlv release in converge's table fits Go {go}"),
  };
  Fit::Misfit(format!(
    "dlv {dlv} debugs programs of Go 1.{} to 1.{}, not Go {go}; {range}",
    row.go.0, row.go.1
  ))
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn gopls_fits_the_go_of_its_support_table() {
    assert_eq!(gopls_supports("v0.16.2", "1.22.5"), Fit::Fits);
    assert_eq!(gopls_supports("v0.20.0", "go1.24.2"), Fit::Fits);
    assert_eq!(gopls_supports("v0.14.2", "1.18"), Fit::Fits);
  }

  #[test]
  fn gopls_too_new_to_build_with_the_declared_go_names_the_releases_that_fit() {
    let Fit::Misfit(why) = gopls_supports("v0.21.0", "1.23.4") else { panic!("fits") };
    assert!(why.contains("needs Go 1.25"), "{why}");
    assert!(why.contains("gopls v0.16.x to v0.18.x fit Go 1.23.4"), "{why}");
  }

  #[test]
  fn gopls_too_new_for_an_old_go_command() {
    let Fit::Misfit(why) = gopls_supports("v0.17.0", "1.20.14") else { panic!("fits") };
    assert!(why.contains("gopls v0.15.x fits Go 1.20.14"), "{why}");
  }

  #[test]
  fn unknown_releases_are_not_judged() {
    assert_eq!(gopls_supports("latest", "1.22.0"), Fit::Unknown);
    assert_eq!(gopls_supports("v0.99.0", "1.22.0"), Fit::Unknown);
    assert_eq!(gopls_supports("v0.16.0", "tip"), Fit::Unknown);
  }

  proptest::proptest! {
    /// Versions read from a host or a playbook, whatever they hold, are
    /// judged without a panic.
    #[test]
    fn any_versions_are_judged(tool in "\\PC*", go in "\\PC*") {
      let _ = gopls_supports(&tool, &go);
      let _ = dlv_supports(&tool, &go);
      let _ = gopls_supports(&format!("v0.{tool}"), &format!("1.{go}"));
    }
  }

  #[test]
  fn dlv_range_follows_compat_go() {
    assert_eq!(dlv_supports("v1.23.1", "1.22.3"), Fit::Fits);
    assert_eq!(dlv_supports("v1.25.1", "1.25.0"), Fit::Fits);
    assert!(matches!(dlv_supports("v1.25.0", "1.25.0"), Fit::Misfit(_)));
    let Fit::Misfit(why) = dlv_supports("v1.21.0", "1.24.1") else { panic!("fits") };
    assert!(why.contains("1.18 to 1.21") && why.contains("v1.24.0"), "{why}");
  }
}
