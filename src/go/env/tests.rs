use super::*;

fn kind(r: &Result<(), GoEnvError>) -> &'static str {
  match r {
    Ok(()) => "ok",
    Err(GoEnvError::ReadOnly { .. }) => "read-only",
    Err(GoEnvError::OsEnvOnly { .. }) => "os-only",
    Err(GoEnvError::Unknown { .. }) => "unknown",
    Err(GoEnvError::InvalidValue { .. }) => "invalid",
  }
}

#[test]
fn checks_names() {
  let cases = [
    ("GOPROXY", "ok"),
    ("CGO_ENABLED", "ok"),
    ("GOTOOLCHAIN", "ok"),
    ("GO_EXTLINK_ENABLED", "ok"),
    ("GOROOT", "read-only"),
    ("GOWORK", "read-only"),
    ("GOTELEMETRY", "read-only"),
    ("GOVERSION", "read-only"),
    ("GOEXE", "read-only"),
    ("GCCGOTOOLDIR", "read-only"),
    ("GOENV", "os-only"),
    ("GODEBUG", "os-only"),
    ("GOPROXI", "unknown"),
    ("goproxy", "unknown"),
    ("PATH", "unknown"),
    ("", "unknown"),
  ];
  for (name, want) in cases {
    assert_eq!(kind(&check_write(name, "")), want, "{name}");
  }
  for name in KNOWN {
    assert!(is_go_variable(name));
    assert_ne!(kind(&check_write(name, "")), "unknown", "{name}");
  }
  assert!(!is_go_variable("HOME"));
}

#[test]
fn suggests_known_names() {
  let cases = [
    ("GOPROXI", Some("GOPROXY"), "did you mean `GOPROXY`?"),
    ("goproxy", Some("GOPROXY"), "go variables are upper case; did you mean `GOPROXY`?"),
    ("GO_PROXY", Some("GOPROXY"), "did you mean `GOPROXY`?"),
    ("GOPRIVTE", Some("GOPRIVATE"), "did you mean `GOPRIVATE`?"),
    ("GOAPTH", Some("GOPATH"), "did you mean `GOPATH`?"),
    ("cgo_enabled", Some("CGO_ENABLED"), "go variables are upper case; did you mean `CGO_ENABLED`?"),
    ("EDITOR", None, "`go help environment` lists the variables the go command reads"),
  ];
  for (name, suggestion, help) in cases {
    let err = check_write(name, "x");
    assert_eq!(err, Err(GoEnvError::Unknown { name: name.into(), suggestion }), "{name}");
    assert_eq!(err.err().map(|e| e.help()).as_deref(), Some(help));
  }
}

#[test]
fn checks_values() {
  let cases = [
    ("GO111MODULE", "on", "ok"),
    ("GO111MODULE", "auto", "ok"),
    ("GO111MODULE", "", "ok"),
    ("GO111MODULE", "yes", "invalid"),
    ("GOPATH", "/home/dev/go", "ok"),
    ("GOPATH", "/home/dev/go:/srv/go", "ok"),
    ("GOPATH", "~/go", "invalid"),
    ("GOPATH", "$HOME/go", "invalid"),
    ("GOPATH", "go", "invalid"),
    ("GOPATH", "/home/dev/go:rel", "invalid"),
    ("GOPATH", "/a::/b", "invalid"),
    ("GOMODCACHE", "/var/cache/gomod", "ok"),
    ("GOMODCACHE", "cache", "invalid"),
    ("GOTMPDIR", "tmp", "invalid"),
    ("GOBIN", "bin", "invalid"),
    ("GOCACHE", "/home/dev/.cache/go-build", "ok"),
    ("GOCACHE", "off", "invalid"),
    ("GOCACHE", "~/.cache", "invalid"),
    ("CC", "gcc", "ok"),
    ("CC", "/usr/bin/clang -m64", "ok"),
    ("CC", "'/opt/my cc/gcc' -O2", "ok"),
    ("CC", "bin/gcc", "invalid"),
    ("CXX", "./g++", "invalid"),
    ("CC", "   ", "invalid"),
    ("CC", "'/opt/gcc", "invalid"),
    ("GOFLAGS", "-mod=mod -trimpath", "ok"),
    ("GOFLAGS", "mod=mod", "invalid"),
    ("GOFLAGS", "-ldflags=-s -w", "ok"),
    ("GOFLAGS", "-tags=a b", "invalid"),
    ("GOFLAGS", "--", "invalid"),
    ("GOPROXY", "https://proxy.golang.org,direct", "ok"),
    ("GOPROXY", "https://x y", "invalid"),
    ("GOPROXY", "Direct", "invalid"),
    ("GOPRIVATE", "*.corp.example.com,github.com/acme", "ok"),
    ("GOFLAGS", "-mod=mod\n", "invalid"),
    ("GOPRIVATE", "a\0b", "invalid"),
    ("GOPRIVATE", "a\rb", "invalid"),
  ];
  for (name, value, want) in cases {
    assert_eq!(kind(&check_write(name, value)), want, "{name}={value:?}");
  }
}

#[test]
fn checks_gotoolchain() {
  let cases = [
    ("local", "ok"),
    ("auto", "ok"),
    ("path", "ok"),
    ("local+auto", "ok"),
    ("local+path", "ok"),
    ("go1.22.5", "ok"),
    ("go1.20", "ok"),
    ("go1.23rc1", "ok"),
    ("go1.22.5+auto", "ok"),
    ("go1.22.5+path", "ok"),
    ("bogus", "invalid"),
    ("1.22.5", "invalid"),
    ("go1.21", "invalid"),
    ("go1.22.5+always", "invalid"),
    ("auto+path", "invalid"),
    ("go1.22.5+", "invalid"),
    ("latest", "invalid"),
  ];
  for (value, want) in cases {
    assert_eq!(kind(&check_write("GOTOOLCHAIN", value)), want, "{value}");
  }
  let help = check_write("GOTOOLCHAIN", "go1.21").err().map(|e| e.help());
  assert_eq!(help.as_deref(), Some("did you mean `go1.21.0`?"));
}

#[test]
fn checks_gosumdb() {
  let key = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8";
  let custom = format!("{key} https://sum.golang.google.cn");
  let cases = [
    ("off", "ok"),
    ("sum.golang.org", "ok"),
    ("sum.golang.google.cn", "ok"),
    ("sum.golang.org https://sum.golang.google.cn", "ok"),
    (key, "ok"),
    (custom.as_str(), "ok"),
    ("sumdb.corp.example", "invalid"),
    ("sumdb.corp.example+key", "invalid"),
    ("sum.golang.org https://a https://b", "invalid"),
    ("sum.golang.org ftp://mirror", "invalid"),
    ("+033de0ae+abc", "invalid"),
  ];
  for (value, want) in cases {
    assert_eq!(kind(&check_write("GOSUMDB", value)), want, "{value}");
  }
}

#[test]
fn errors_explain_and_help() {
  let cases = [
    ("GOROOT", "/x", "the running go command is installed", "put its `bin` on `PATH`"),
    ("GOENV", "/x", "process environment only", "export `GOENV`"),
    ("GOPATH", "~/go", "starts with `~`", "write the full path"),
    ("GO111MODULE", "yes", "`yes` is not one of", "write `on`"),
    ("GOPROXY", "ftp://x,Direct", "(and 1 more)", "`https://`"),
    ("GOTOOLCHAIN", "go1.22.5+always", "`+always` is not", "`go1.22.5+auto`"),
    ("GOFLAGS", "mod=mod", "`mod=mod` is not a flag", "did you mean `-mod=mod`?"),
    ("GOCACHE", "off", "since go 1.12", "remove the setting"),
  ];
  for (name, value, reason, help) in cases {
    let err = check_write(name, value).err();
    let (r, h) = err.as_ref().map(|e| (e.reason(), e.help())).unwrap_or_default();
    assert!(r.contains(reason), "{name}: {r}");
    assert!(h.contains(help), "{name}: {h}");
    assert_eq!(err.as_ref().map(GoEnvError::name), Some(name));
    let message = err.map(|e| e.to_string()).unwrap_or_default();
    assert!(message.starts_with(|c: char| c.is_lowercase() || c == '`'), "{message}");
  }
}

#[test]
fn parses_env_files() {
  let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
  let cases = [
    (
      "GOPROXY=https://a,direct\nGOFLAGS=-mod=mod\n",
      vec![pair("GOPROXY", "https://a,direct"), pair("GOFLAGS", "-mod=mod")],
    ),
    ("GOPROXY=\"https://quoted.example\"", vec![pair("GOPROXY", "\"https://quoted.example\"")]),
    ("# comment=x\ngoprivate=lower\n\nnoequals\nGONOSUMDB= a \n", vec![pair("GONOSUMDB", " a ")]),
    ("GOBIN=/a\nGOPATH=/p\nGOBIN=/b\n", vec![pair("GOPATH", "/p"), pair("GOBIN", "/b")]),
    ("GOFLAGS=-a=b=c", vec![pair("GOFLAGS", "-a=b=c")]),
    ("", vec![]),
  ];
  for (text, want) in cases {
    assert_eq!(parse_env_file(text), want, "{text:?}");
  }
}

#[test]
fn writes_env_files_like_go_env_w() {
  let set = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
  };
  let cases = [
    ("", set(&[("GOPROXY", "https://a")]), "GOPROXY=https://a\n"),
    ("", set(&[]), ""),
    ("GOPROXY=old", set(&[]), "GOPROXY=old\n"),
    ("GOPROXY=old\n", set(&[("GOPROXY", "new")]), "GOPROXY=new\n"),
    ("GOPROXY=p\nGOBIN=/b\n", set(&[("GOFLAGS", "-x")]), "GOBIN=/b\nGOFLAGS=-x\nGOPROXY=p\n"),
    (
      "# mine\nGOPROXY=p\n\nGOSUMDB=off\nGOBIN=/b\n",
      set(&[("GOPROXY", "q"), ("GOAMD64", "v3")]),
      "# mine\nGOPROXY=q\n\nGOAMD64=v3\nGOBIN=/b\nGOSUMDB=off\n",
    ),
    ("GOBIN=/a\nGOPATH=/p\nGOBIN=/b\n", set(&[]), "GOBIN=/b\nGOPATH=/p\n"),
    ("GOPATH=/p\nGOBIN=/a\nGOBIN=/b\n", set(&[("GOBIN", "/c")]), "GOPATH=/p\nGOBIN=/c\n"),
    ("GO386=x\nGO=y\n", set(&[]), "GO=y\nGO386=x\n"),
    ("goprivate=lower\nGOBIN=/b\n", set(&[]), "GOBIN=/b\ngoprivate=lower\n"),
    ("GOBIN=/b\n", set(&[("GOFLAGS", "-a"), ("GOFLAGS", "-b")]), "GOBIN=/b\nGOFLAGS=-b\n"),
  ];
  for (existing, set, want) in cases {
    let got = write_env_file(existing, &set);
    assert_eq!(got, want, "{existing:?} + {set:?}");
    // Once duplicates are gone, rewriting changes nothing. (Right after removing
    // a duplicate it can: go leaves an empty line in its place while sorting.)
    let again = write_env_file(&got, &[]);
    assert_eq!(write_env_file(&again, &[]), again, "stable: {again:?}");
  }
}
