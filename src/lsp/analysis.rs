//! One check of the playbooks of a directory, as `converge check DIR` does it,
//! with the editor's open buffers in place of the files on disk.

use crate::check::loader::{self, LoadedFile};
use crate::check::playbook::Playbook;
use crate::check::resolver;
use crate::diagnostic::{Diagnostic, Diagnostics, Severity};
use crate::lsp::position::LineIndex;
use crate::source::{self, FileId, MAX_INPUT_BYTES, ReadError, Sources, Span};
use crate::syntax::incremental::Parsed;
use lsp_types::{DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString, Url};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The playbooks of one directory, checked together.
pub(crate) struct Analysis {
  pub sources: Sources,
  pub files: Vec<LoadedFile>,
  pub playbook: Playbook,
  pub diagnostics: Vec<Diagnostic>,
  /// The document of every file read, by file id.
  pub urls: Vec<Option<Url>>,
  /// The parse of every file read, for the next check.
  pub parses: Parses,
}

/// The parse of each playbook, by path.
pub(crate) type Parses = HashMap<PathBuf, Parsed>;

/// Where the playbooks of a document are: its directory, or the document alone
/// when it is not a file (an unsaved, untitled buffer).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Scope {
  Dir(PathBuf),
  Alone(Url),
}

impl Scope {
  pub(crate) fn of(url: &Url) -> Scope {
    match url.to_file_path() {
      Ok(path) => Scope::Dir(path.parent().map_or_else(|| PathBuf::from("/"), Path::to_path_buf)),
      Err(()) => Scope::Alone(url.clone()),
    }
  }
}

/// The path a document's text is checked as.
pub(crate) fn path_of(url: &Url) -> PathBuf {
  url.to_file_path().unwrap_or_else(|()| PathBuf::from(url.as_str()))
}

/// Checks the playbooks of `scope`; `open` maps the open documents of the
/// scope to their text; `previous` holds the parses of the last check's files.
pub(crate) fn analyse(scope: &Scope, open: &[(&Url, &str)], mut previous: Parses) -> Analysis {
  let mut sources = Sources::new();
  let mut diagnostics = Diagnostics::new();
  let mut paths: Vec<(PathBuf, Option<&Url>, Option<&str>)> = Vec::new();
  if let Scope::Dir(dir) = scope
    && dir.is_dir()
  {
    let mut ignored = Diagnostics::new();
    for path in loader::discover(std::slice::from_ref(dir), &mut ignored) {
      paths.push((path, None, None));
    }
  }
  for (url, text) in open {
    let path = path_of(url);
    match paths.iter_mut().find(|(p, ..)| *p == path) {
      Some(entry) => *entry = (path, Some(*url), Some(*text)),
      None => paths.push((path, Some(*url), Some(*text))),
    }
  }
  paths.sort_by(|a, b| a.0.cmp(&b.0));
  let mut files = Vec::new();
  let mut parses = HashMap::new();
  for (path, _, text) in &paths {
    let text = match text {
      Some(text) if text.len() as u64 > MAX_INPUT_BYTES => {
        Err(ReadError::TooLarge { limit: MAX_INPUT_BYTES })
      }
      Some(text) => Ok((*text).to_owned()),
      None => source::read_text_bounded(path, MAX_INPUT_BYTES),
    };
    let text = match text {
      Ok(text) => text,
      Err(e) => {
        diagnostics.push(loader::read_error(path, &e));
        continue;
      }
    };
    // Parsed again from the last check's parse of the same file: only the
    // items around a change are read again.
    files.push(loader::load_with(path, text, &mut sources, &mut diagnostics, |id, text| {
      let parsed = match previous.remove(path) {
        Some(before) => before.next(id, text),
        None => Parsed::new(id, text),
      };
      let result = parsed.result(id);
      parses.insert(path.clone(), parsed);
      result
    }));
  }
  let (playbook, found) = resolver::resolve(&files, &mut sources);
  diagnostics.extend(found);
  let urls = sources
    .iter()
    .map(|source| {
      let open = paths.iter().find(|(p, ..)| *p == source.path).and_then(|(_, url, _)| url.cloned());
      open.or_else(|| {
        let path = if source.path.is_absolute() {
          source.path.clone()
        } else {
          std::path::absolute(&source.path).ok()?
        };
        Url::from_file_path(path).ok()
      })
    })
    .collect();
  Analysis { sources, files, playbook, diagnostics: diagnostics.sorted(), urls, parses }
}

impl Analysis {
  pub(crate) fn url(&self, file: FileId) -> Option<&Url> {
    self.urls.get(file.0 as usize)?.as_ref()
  }

  /// The id of the file read for a document.
  pub(crate) fn file_of(&self, url: &Url) -> Option<FileId> {
    let i = self.urls.iter().position(|u| u.as_ref() == Some(url))?;
    Some(FileId(u32::try_from(i).ok()?))
  }

  /// The location of a span, in the document of its file.
  pub(crate) fn location(&self, span: Span) -> Option<Location> {
    let url = self.url(span.file)?.clone();
    let index = LineIndex::new(self.sources.text(span.file));
    Some(Location::new(url, index.range(span.start, span.end)))
  }

  /// The diagnostics to publish, per document: every document with some, and
  /// `fallback` (the documents of the scope) for those with no place in a file.
  pub(crate) fn lsp_diagnostics(&self, fallback: &[Url]) -> HashMap<Url, Vec<lsp_types::Diagnostic>> {
    let mut out: HashMap<Url, Vec<lsp_types::Diagnostic>> = HashMap::new();
    let mut indexes: HashMap<FileId, LineIndex<'_>> = HashMap::new();
    for d in &self.diagnostics {
      let primary = d.primary();
      let (url, range) = match primary.and_then(|span| Some((span, self.url(span.file)?))) {
        Some((span, url)) => {
          let index =
            indexes.entry(span.file).or_insert_with(|| LineIndex::new(self.sources.text(span.file)));
          (url.clone(), index.range(span.start, span.end))
        }
        None => match fallback.first() {
          Some(url) => (url.clone(), lsp_types::Range::default()),
          None => continue,
        },
      };
      let related: Vec<DiagnosticRelatedInformation> = d
        .labels
        .iter()
        .skip(1)
        .filter_map(|l| {
          let location = self.location(l.span)?;
          Some(DiagnosticRelatedInformation { location, message: l.text.clone() })
        })
        .collect();
      let mut message = d.message.clone();
      if let Some(label) = d.labels.first().filter(|l| !l.text.is_empty()) {
        message.push_str(&format!("\n{}", label.text));
      }
      if let Some(help) = &d.help {
        message.push_str(&format!("\nhelp: {help}"));
      }
      out.entry(url).or_default().push(lsp_types::Diagnostic {
        range,
        severity: Some(match d.severity() {
          Severity::Error => DiagnosticSeverity::ERROR,
          Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(d.code.as_str().to_owned())),
        source: Some("converge".to_owned()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        ..lsp_types::Diagnostic::default()
      });
    }
    out
  }
}
