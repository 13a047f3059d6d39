//! Syntax: `.goenv` text in, an [`ast::Ast`] and syntax diagnostics out.
//!
//! The pest grammar (`grammar/goenv.pest`) tokenises; [`parser`] builds the
//! generic tree with recovery per item; [`formatter`] prints a tree back in the
//! one canonical layout (`converge fmt`); [`incremental`] parses a new version
//! of a file again only where it changed (`converge lsp`). Nothing here knows what a statement
//! means: that is the check stage.

pub mod ast;
pub mod formatter;
pub(crate) mod incremental;
pub mod parser;
