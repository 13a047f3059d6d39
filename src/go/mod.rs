//! The Go domain: rules ported from Go's own source, pure and tested on their
//! own. What `go env -w` accepts and writes ([`env`], [`env_file`]), the GOPROXY
//! chain ([`proxy`]), release versions ([`version`]) and `go install` module
//! paths ([`module`]), which gopls and dlv releases fit which Go ([`gopls`]).
//! Used by the check and plan stages; no I/O.

pub mod env;
pub mod env_file;
pub mod gopls;
pub mod module;
pub mod proxy;
pub mod version;
