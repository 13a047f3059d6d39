//! Dynamic inventories: an executable inventory path is run as Ansible's
//! `script` plugin runs it, `PATH --list`, and its standard output read as
//! JSON: each top-level key a group (`{"hosts": [...], "vars": {...},
//! "children": [...]}`, or a list of hosts), and `_meta.hostvars` the
//! variables of each host.
//!
//! The script runs without a shell (argv only), with standard input closed,
//! for at most [`TIMEOUT`], and its output is read up to the input size
//! limit; past either it is killed by PID. A script that fails, times out,
//! prints too much or prints something other than that JSON is E234. A script
//! without `_meta.hostvars` is refused too: Ansible would then run it once
//! more per host (`--host`), a deprecated form.

use crate::check::inventory::{Inventory, Name, Var, check_connection_var};
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::source::{FileId, MAX_INPUT_BYTES, Span};
use serde_json::Value;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a script may run.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// Whether `path` is a regular file someone may execute.
pub fn is_executable(path: &Path) -> bool {
  use std::os::unix::fs::PermissionsExt;
  std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Runs the script at `path` and adds what it lists to `inventory`. `file`
/// is the script's own source (for spans).
pub fn read(path: &Path, file: FileId, inventory: &mut Inventory, diagnostics: &mut Diagnostics) {
  let span = Span::new(file, 0, 0);
  let fail = |diagnostics: &mut Diagnostics, why: String| {
    diagnostics.push(
      Diagnostic::new(
        Code::InventoryScript,
        format!("expected the inventory script `{}` to list the inventory: {why}", path.display()),
      )
      .label(span, "this script")
      .help("the script must exit 0 and print Ansible's inventory JSON with `_meta.hostvars` for `--list`"),
    );
  };
  let output = match run(path) {
    Ok(output) => output,
    Err(why) => return fail(diagnostics, why),
  };
  let data: Value = match serde_json::from_slice(&output) {
    Ok(data) => data,
    Err(e) => return fail(diagnostics, format!("its output is not JSON ({e})")),
  };
  let Value::Object(groups) = data else {
    return fail(diagnostics, "its output is not a JSON object".to_owned());
  };
  let Some(Value::Object(hostvars)) = groups.get("_meta").and_then(|m| m.get("hostvars")) else {
    return fail(diagnostics, "its output has no `_meta.hostvars`".to_owned());
  };
  let mut listed: Vec<String> = Vec::new();
  for (group, value) in &groups {
    if group == "_meta" {
      continue;
    }
    let (hosts, vars, children) = match value {
      Value::Array(hosts) => (Some(hosts), None, None),
      Value::Object(map) if ["hosts", "vars", "children"].iter().any(|k| map.contains_key(*k)) => (
        map.get("hosts").and_then(Value::as_array),
        map.get("vars"),
        map.get("children").and_then(Value::as_array),
      ),
      _ => {
        return fail(diagnostics, format!("the group `{group}` has none of `hosts`, `vars` and `children`"));
      }
    };
    inventory.group_mut(group, span);
    for host in hosts.into_iter().flatten() {
      let Some(host) = host.as_str() else {
        return fail(diagnostics, format!("a host of `{group}` is not a string"));
      };
      inventory.host_mut(host, span);
      let g = inventory.group_mut(group, span);
      if !g.hosts.iter().any(|h| h.name == host) {
        g.hosts.push(Name { name: host.to_owned(), span });
      }
      listed.push(host.to_owned());
    }
    match vars {
      None => {}
      Some(Value::Object(vars)) => {
        for (key, value) in vars {
          if key == "ansible_group_priority" {
            inventory.group_mut(group, span).priority = value.as_i64();
            continue;
          }
          inventory.group_mut(group, span).vars.insert(key.clone(), Var { value: value.clone(), span });
        }
      }
      Some(_) => return fail(diagnostics, format!("`{group}.vars` is not an object")),
    }
    for child in children.into_iter().flatten() {
      let Some(child) = child.as_str() else {
        return fail(diagnostics, format!("a child of `{group}` is not a string"));
      };
      inventory.group_mut(child, span);
      let g = inventory.group_mut(group, span);
      if !g.children.iter().any(|c| c.name == child) {
        g.children.push(Name { name: child.to_owned(), span });
      }
    }
  }
  for host in listed {
    let Some(Value::Object(vars)) = hostvars.get(&host) else { continue };
    for (key, value) in vars {
      if let Some(d) = check_connection_var(key, value, span) {
        diagnostics.push(d);
      }
      if let Some(h) = inventory.hosts.get_mut(&host) {
        h.vars.insert(key.clone(), Var { value: value.clone(), span });
      }
    }
  }
}

/// Runs `path --list`, bounded in time and output; its standard output.
fn run(path: &Path) -> Result<Vec<u8>, String> {
  let mut child = Command::new(path)
    .arg("--list")
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .map_err(|e| format!("it cannot be run ({e})"))?;
  let Some(stdout) = child.stdout.take() else { return Err("its output cannot be read".to_owned()) };
  let reader = std::thread::spawn(move || {
    let mut out = Vec::new();
    let result = stdout.take(MAX_INPUT_BYTES + 1).read_to_end(&mut out);
    result.map(|_| out)
  });
  let started = Instant::now();
  let mut output = None;
  let mut reader = Some(reader);
  let status = loop {
    if reader.as_ref().is_some_and(std::thread::JoinHandle::is_finished)
      && let Some(done) = reader.take()
    {
      let out =
        done.join().map_err(|_| "its output cannot be read".to_owned())?.map_err(|e| e.to_string())?;
      if out.len() as u64 > MAX_INPUT_BYTES {
        let _ = child.kill();
        let _ = child.wait();
        return Err(format!("it printed more than {} MiB", MAX_INPUT_BYTES >> 20));
      }
      output = Some(out);
    }
    match child.try_wait() {
      Ok(Some(status)) if reader.is_none() => break status,
      Ok(_) if started.elapsed() > TIMEOUT => {
        let _ = child.kill();
        let _ = child.wait();
        return Err(format!("it ran longer than {} seconds", TIMEOUT.as_secs()));
      }
      Ok(_) => std::thread::sleep(Duration::from_millis(10)),
      Err(e) => return Err(format!("waiting for it failed ({e})")),
    }
  };
  let out = output.unwrap_or_default();
  if !status.success() {
    return Err(format!("it exited with {status}"));
  }
  Ok(out)
}
