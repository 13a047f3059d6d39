//! Finding and reading playbooks.
//!
//! `converge check a.goenv dir/` reads the named files and the `*.goenv` files of
//! the named directories; with no path it reads the `*.goenv` files of the current
//! directory, as Terraform reads `*.tf`.

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::source::{self, FileId, MAX_INPUT_BYTES, ReadError, Sources};
use crate::syntax::ast::Ast;
use crate::syntax::parser;
use std::path::{Path, PathBuf};

/// A parsed playbook file and the directory its relative paths start from.
#[derive(Debug)]
pub struct LoadedFile {
  pub ast: Ast,
  pub dir: PathBuf,
}

/// The files named by `paths` (directories expanded to their `*.goenv` files,
/// sorted), or the current directory's when `paths` is empty.
pub fn discover(paths: &[PathBuf], diagnostics: &mut Diagnostics) -> Vec<PathBuf> {
  let default = [PathBuf::from(".")];
  let named = paths.is_empty();
  let paths = if named { &default[..] } else { paths };
  let mut files = Vec::new();
  for path in paths {
    if path.is_dir() {
      match goenv_files(path) {
        Ok(found) => files.extend(found),
        Err(e) => diagnostics
          .push(Diagnostic::new(Code::Io, format!("cannot read the directory `{}`: {e}", path.display()))),
      }
    } else {
      files.push(path.clone());
    }
  }
  if files.is_empty() {
    let where_ = if named {
      "the current directory".to_owned()
    } else {
      paths.iter().map(|p| format!("`{}`", p.display())).collect::<Vec<_>>().join(", ")
    };
    diagnostics
      .push(Diagnostic::new(Code::NoPlaybook, format!("no `.goenv` playbook found in {where_}")).help(
      "name a playbook (`converge check site.goenv`) or run converge in a directory that has `*.goenv` files",
    ));
  }
  files
}

fn goenv_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
  let mut found: Vec<PathBuf> = std::fs::read_dir(dir)?
    .filter_map(Result::ok)
    .map(|e| if dir == Path::new(".") { PathBuf::from(e.file_name()) } else { e.path() })
    .filter(|p| p.extension().is_some_and(|e| e == "goenv") && p.is_file())
    .collect();
  found.sort();
  Ok(found)
}

/// Reads and parses one file into `sources`. Only regular files of at most
/// [`MAX_INPUT_BYTES`] are read (see [`source::read_bounded`]).
pub fn load_file(path: &Path, sources: &mut Sources, diagnostics: &mut Diagnostics) -> Option<LoadedFile> {
  // `-` is standard input, read as bounded as a file; its relative paths start here.
  let stdin = path == Path::new("-");
  let text = match if stdin {
    read_stdin(MAX_INPUT_BYTES)
  } else {
    source::read_text_bounded(path, MAX_INPUT_BYTES)
  } {
    Ok(text) => text,
    Err(e) => {
      diagnostics.push(read_error(path, &e));
      return None;
    }
  };
  let name = if stdin { Path::new("<stdin>") } else { path };
  Some(load_text(name, text, sources, diagnostics))
}

/// Parses `text` as the content of the playbook at `path` (an editor's unsaved
/// buffer, or the file just read) into `sources`.
pub fn load_text(
  path: &Path,
  text: String,
  sources: &mut Sources,
  diagnostics: &mut Diagnostics,
) -> LoadedFile {
  load_with(path, text, sources, diagnostics, parser::parse)
}

/// [`load_text`] with another way to parse the text (the language server's,
/// which parses again only what changed since the last version).
pub fn load_with(
  path: &Path,
  text: String,
  sources: &mut Sources,
  diagnostics: &mut Diagnostics,
  parse: impl FnOnce(FileId, &str) -> (Ast, Diagnostics),
) -> LoadedFile {
  let id = sources.add(path, text);
  let (ast, found) = parse(id, sources.text(id));
  diagnostics.extend(found);
  let dir = path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
  let dir = if dir.as_os_str().is_empty() { PathBuf::from(".") } else { dir };
  LoadedFile { ast, dir }
}

fn read_stdin(limit: u64) -> Result<String, ReadError> {
  let mut bytes = Vec::new();
  std::io::Read::read_to_end(&mut std::io::Read::take(std::io::stdin().lock(), limit + 1), &mut bytes)?;
  if bytes.len() as u64 > limit {
    return Err(ReadError::TooLarge { limit });
  }
  String::from_utf8(bytes).map_err(|_| ReadError::NotUtf8)
}

/// Discovers and loads every playbook.
pub fn load(paths: &[PathBuf], sources: &mut Sources, diagnostics: &mut Diagnostics) -> Vec<LoadedFile> {
  discover(paths, diagnostics).iter().filter_map(|p| load_file(p, sources, diagnostics)).collect()
}

/// The diagnostic for a playbook or inventory that cannot be read.
pub fn read_error(path: &Path, error: &ReadError) -> Diagnostic {
  let help = match error {
    ReadError::Io(_) => "check the path and its permissions".to_owned(),
    ReadError::NotRegular { .. } => {
      "name a regular file; converge does not read pipes, devices or sockets, which may never end".to_owned()
    }
    ReadError::TooLarge { .. } => format!(
      "playbooks and inventories are read only up to {} MiB; check that the path names the file you meant",
      MAX_INPUT_BYTES >> 20
    ),
    ReadError::NotUtf8 => "playbooks and inventories are UTF-8 text files".to_owned(),
  };
  Diagnostic::new(Code::Io, format!("cannot read `{}`: {error}", path.display())).help(help)
}
