//! `converge lsp`: the language server editors talk to over stdio.
//!
//! Open documents are kept as the editor sends them (every change replaces
//! the whole text, so memory is one copy per open document). The playbooks of
//! a document's directory are checked as `converge check DIR` checks them, with
//! the open buffers in place of the files ([`analysis`]), at once after a
//! change, or at most once per [`DEBOUNCE`] while changes keep coming, and the
//! diagnostics published with the same codes, spans, labels and help. Each check
//! parses a file again from the last check's parse of it, only around what
//! changed ([`crate::syntax::incremental`]). Input is
//! read with bounded frames ([`transport`]). Requests answer from the latest check of the
//! document's directory: completion ([`complete`]), hover, go to definition and
//! document symbols ([`navigate`]), formatting with the `converge fmt` layout
//! and quick fixes for every "did you mean" ([`actions`]). Reference text comes
//! from the book's pages ([`reference`]).

mod actions;
mod analysis;
mod complete;
mod context;
mod navigate;
mod position;
mod reference;
pub mod transport;

use analysis::{Analysis, Scope};
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types::notification::{self as notif, Notification as _};
use lsp_types::request::{self as req, Request as _};
use lsp_types::{
  CodeActionProviderCapability, CompletionOptions, HoverProviderCapability, OneOf, PublishDiagnosticsParams,
  ServerCapabilities, TextDocumentSyncCapability, TextDocumentSyncKind, Url,
};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// The least time between two checks of one directory: a change after a quiet
/// spell is checked at once, and the changes of a burst of typing are checked
/// together, once per this interval.
pub const DEBOUNCE: Duration = Duration::from_millis(150);

/// Runs the server on stdin and stdout until the editor shuts it down; returns
/// the process exit code.
pub fn run() -> i32 {
  let (connection, read_failure) = transport::stdio();
  let served = serve(&connection);
  drop(connection);
  // Input that is not LSP stops the reader, and so the server: it is the
  // reason to report.
  let read = read_failure.lock().ok().and_then(|mut f| f.take());
  match (read, served) {
    (Some(e), _) => {
      log(&format!("converge lsp: {e}"));
      1
    }
    (None, Err(e)) => {
      log(&format!("converge lsp: {e}"));
      1
    }
    (None, Ok(())) => 0,
  }
}

#[allow(clippy::print_stderr)]
fn log(message: &str) {
  eprintln!("{message}");
}

type Error = Box<dyn std::error::Error + Send + Sync>;

/// One open document.
struct Document {
  text: String,
  scope: Scope,
}

#[derive(Default)]
struct Server {
  documents: HashMap<Url, Document>,
  /// The latest check of each scope with open documents.
  analyses: HashMap<Scope, Analysis>,
  /// Scopes to check again, and when.
  due: HashMap<Scope, Instant>,
  /// When each scope was last checked.
  checked: HashMap<Scope, Instant>,
  /// The host whose variable values hover shows (`converge.host`); every
  /// host's when `None`.
  host: Option<String>,
  /// The documents diagnostics were last published for, per scope.
  published: HashMap<Scope, HashSet<Url>>,
}

/// Serves one connection: the handshake, then requests and notifications until
/// `shutdown` and `exit`.
pub fn serve(connection: &Connection) -> Result<(), Error> {
  let capabilities = ServerCapabilities {
    text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL)),
    completion_provider: Some(CompletionOptions {
      trigger_characters: Some(vec!["\"".into(), ".".into(), " ".into(), "{".into()]),
      ..CompletionOptions::default()
    }),
    hover_provider: Some(HoverProviderCapability::Simple(true)),
    definition_provider: Some(OneOf::Left(true)),
    document_formatting_provider: Some(OneOf::Left(true)),
    code_action_provider: Some(CodeActionProviderCapability::Simple(true)),
    document_symbol_provider: Some(OneOf::Left(true)),
    ..ServerCapabilities::default()
  };
  let initialize = connection.initialize(serde_json::to_value(capabilities)?)?;
  let mut server = Server { host: chosen_host(initialize.get("initializationOptions")), ..Server::default() };
  loop {
    let wait = server
      .due
      .values()
      .min()
      .map_or(Duration::from_secs(3600), |t| t.saturating_duration_since(Instant::now()));
    match connection.receiver.recv_timeout(wait) {
      Ok(Message::Request(request)) => {
        if connection.handle_shutdown(&request)? {
          return Ok(());
        }
        let response = server.request(connection, request);
        connection.sender.send(Message::Response(response))?;
      }
      Ok(Message::Notification(notification)) => {
        if notification.method == notif::Exit::METHOD {
          return Ok(());
        }
        server.notification(notification);
      }
      Ok(Message::Response(_)) => {}
      Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
      Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return Ok(()),
    }
    // Messages already waiting (the rest of a burst of changes) are taken
    // before any check.
    if !connection.receiver.is_empty() {
      continue;
    }
    let now = Instant::now();
    let ready: Vec<Scope> = server.due.iter().filter(|(_, t)| **t <= now).map(|(s, _)| s.clone()).collect();
    for scope in ready {
      server.check(connection, &scope)?;
    }
  }
}

/// The host named by a client's settings, `{"host": "web1"}` in
/// `initializationOptions` or `{"converge": {"host": "web1"}}` in
/// `workspace/didChangeConfiguration`; an empty name chooses none.
fn chosen_host(settings: Option<&serde_json::Value>) -> Option<String> {
  let host = settings?.get("host")?.as_str()?.trim();
  (!host.is_empty()).then(|| host.to_owned())
}

fn params<P: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<P, Error> {
  Ok(serde_json::from_value(value)?)
}

impl Server {
  fn notification(&mut self, n: Notification) {
    let result: Result<(), Error> = (|| {
      match n.method.as_str() {
        notif::DidOpenTextDocument::METHOD => {
          let p: lsp_types::DidOpenTextDocumentParams = params(n.params)?;
          let scope = Scope::of(&p.text_document.uri);
          self.due.insert(scope.clone(), Instant::now());
          self.documents.insert(p.text_document.uri, Document { text: p.text_document.text, scope });
        }
        notif::DidChangeTextDocument::METHOD => {
          let p: lsp_types::DidChangeTextDocumentParams = params(n.params)?;
          // Full synchronisation: the last change holds the whole text.
          if let (Some(document), Some(change)) =
            (self.documents.get_mut(&p.text_document.uri), p.content_changes.into_iter().last())
          {
            document.text = change.text;
            let scope = document.scope.clone();
            self.schedule(scope);
          }
        }
        notif::DidSaveTextDocument::METHOD => {
          let p: lsp_types::DidSaveTextDocumentParams = params(n.params)?;
          self.due.insert(Scope::of(&p.text_document.uri), Instant::now());
        }
        notif::DidCloseTextDocument::METHOD => {
          let p: lsp_types::DidCloseTextDocumentParams = params(n.params)?;
          if let Some(document) = self.documents.remove(&p.text_document.uri) {
            self.due.insert(document.scope, Instant::now());
          }
        }
        notif::DidChangeConfiguration::METHOD => {
          let p: lsp_types::DidChangeConfigurationParams = params(n.params)?;
          self.host = chosen_host(p.settings.get("converge"));
        }
        notif::DidChangeWatchedFiles::METHOD => {
          // A playbook or an inventory changed on disk: check again the
          // directories that read it.
          let p: lsp_types::DidChangeWatchedFilesParams = params(n.params)?;
          for change in p.changes {
            let path = analysis::path_of(&change.uri);
            let readers: Vec<Scope> = self
              .analyses
              .iter()
              .filter(|(scope, a)| {
                **scope == Scope::of(&change.uri) || a.sources.iter().any(|s| s.path == path)
              })
              .map(|(scope, _)| scope.clone())
              .collect();
            for scope in readers {
              self.schedule(scope);
            }
          }
        }
        _ => {}
      }
      Ok(())
    })();
    if let Err(e) = result {
      log(&format!("converge lsp: {}: {e}", n.method));
    }
  }

  /// Checks a scope at once if it was not checked within [`DEBOUNCE`], else
  /// when that time is up.
  fn schedule(&mut self, scope: Scope) {
    let now = Instant::now();
    let at = self.checked.get(&scope).map_or(now, |last| (*last + DEBOUNCE).max(now));
    let due = self.due.entry(scope).or_insert(at);
    *due = (*due).min(at);
  }

  fn open_in(&self, scope: &Scope) -> Vec<(&Url, &str)> {
    let mut open: Vec<(&Url, &str)> =
      self.documents.iter().filter(|(_, d)| d.scope == *scope).map(|(u, d)| (u, d.text.as_str())).collect();
    open.sort_by(|a, b| a.0.cmp(b.0));
    open
  }

  /// Checks a scope now and publishes its diagnostics; forgets it when it has
  /// no open document left.
  fn check(&mut self, connection: &Connection, scope: &Scope) -> Result<(), Error> {
    self.due.remove(scope);
    self.checked.insert(scope.clone(), Instant::now());
    let previous = self.analyses.get_mut(scope).map(|a| std::mem::take(&mut a.parses)).unwrap_or_default();
    let open = self.open_in(scope);
    let mut publish: HashMap<Url, Vec<lsp_types::Diagnostic>> = HashMap::new();
    if open.is_empty() {
      self.analyses.remove(scope);
      self.checked.remove(scope);
    } else {
      let fallback: Vec<Url> = open.iter().map(|(u, _)| (*u).clone()).collect();
      let analysis = analysis::analyse(scope, &open, previous);
      publish = analysis.lsp_diagnostics(&fallback);
      for url in fallback {
        publish.entry(url).or_default();
      }
      self.analyses.insert(scope.clone(), analysis);
    }
    let before = self.published.remove(scope).unwrap_or_default();
    for url in before {
      publish.entry(url).or_default();
    }
    let mut now = HashSet::new();
    for (uri, diagnostics) in publish {
      if !diagnostics.is_empty() {
        now.insert(uri.clone());
      }
      let params = PublishDiagnosticsParams { uri, diagnostics, version: None };
      let n = Notification::new(notif::PublishDiagnostics::METHOD.to_owned(), params);
      connection.sender.send(Message::Notification(n))?;
    }
    if !now.is_empty() {
      self.published.insert(scope.clone(), now);
    }
    Ok(())
  }

  /// The up-to-date check of a document's scope (checked now if a change is
  /// pending) and the document's text.
  fn analysis(&mut self, connection: &Connection, url: &Url) -> Result<(&Analysis, &str), Error> {
    let scope = self.documents.get(url).map(|d| d.scope.clone()).ok_or("the document is not open")?;
    if self.due.contains_key(&scope) || !self.analyses.contains_key(&scope) {
      self.check(connection, &scope)?;
    }
    let analysis = self.analyses.get(&scope).ok_or("the document is not open")?;
    let text = self.documents.get(url).map(|d| d.text.as_str()).ok_or("the document is not open")?;
    Ok((analysis, text))
  }

  fn request(&mut self, connection: &Connection, request: Request) -> Response {
    let id = request.id.clone();
    match self.answer(connection, request) {
      Ok(Some(value)) => Response::new_ok(id, value),
      Ok(None) => Response::new_err(id, ErrorCode::MethodNotFound as i32, "method not supported".to_owned()),
      Err(e) => Response::new_err(id, ErrorCode::RequestFailed as i32, e.to_string()),
    }
  }

  /// The result of a request, `None` for a method the server does not know.
  fn answer(&mut self, connection: &Connection, r: Request) -> Result<Option<serde_json::Value>, Error> {
    let value = match r.method.as_str() {
      req::Completion::METHOD => {
        let p: lsp_types::CompletionParams = params(r.params)?;
        let at = p.text_document_position;
        let (analysis, text) = self.analysis(connection, &at.text_document.uri)?;
        serde_json::to_value(complete::complete(analysis, text, at.position))?
      }
      req::HoverRequest::METHOD => {
        let p: lsp_types::HoverParams = params(r.params)?;
        let at = p.text_document_position_params;
        let host = self.host.clone();
        let (analysis, text) = self.analysis(connection, &at.text_document.uri)?;
        serde_json::to_value(navigate::hover(
          analysis,
          &at.text_document.uri,
          text,
          at.position,
          host.as_deref(),
        ))?
      }
      req::GotoDefinition::METHOD => {
        let p: lsp_types::GotoDefinitionParams = params(r.params)?;
        let at = p.text_document_position_params;
        let (analysis, text) = self.analysis(connection, &at.text_document.uri)?;
        serde_json::to_value(navigate::definition(analysis, &at.text_document.uri, text, at.position))?
      }
      req::DocumentSymbolRequest::METHOD => {
        let p: lsp_types::DocumentSymbolParams = params(r.params)?;
        let text = self.documents.get(&p.text_document.uri).map(|d| d.text.as_str()).unwrap_or("");
        serde_json::to_value(navigate::symbols(text))?
      }
      req::Formatting::METHOD => {
        let p: lsp_types::DocumentFormattingParams = params(r.params)?;
        let text = self.documents.get(&p.text_document.uri).map(|d| d.text.as_str()).unwrap_or("");
        serde_json::to_value(actions::format(text))?
      }
      req::CodeActionRequest::METHOD => {
        let p: lsp_types::CodeActionParams = params(r.params)?;
        let uri = p.text_document.uri.clone();
        let (analysis, _) = self.analysis(connection, &uri)?;
        serde_json::to_value(actions::code_actions(analysis, &uri, p.range))?
      }
      _ => return Ok(None),
    };
    Ok(Some(value))
  }
}
