//! What the VS Code server does with a key of its machine settings: the
//! client-only keys it ignores there, and the settings the Go extension has.

use super::VscodeSettings;
use crate::check::resource::Validator;
use crate::diagnostic::{Code, Diagnostic, did_you_mean};

/// The `go.*` settings of the Go extension, from `contributes.configuration`
/// of `extension/package.json` in github.com/golang/vscode-go (version
/// 0.58.0-dev, commit 28e27ffd3a0e, 2026-08-21). `gopls` (an object of gopls
/// settings) is the extension's other top-level setting.
pub const GO_SETTINGS: &[&str] = &[
  "go.showWelcome",
  "go.buildOnSave",
  "go.buildFlags",
  "go.buildTags",
  "go.testTags",
  "go.disableConcurrentTests",
  "go.installDependenciesWhenBuilding",
  "go.lintOnSave",
  "go.lintTool",
  "go.lintFlags",
  "go.vetOnSave",
  "go.vetFlags",
  "go.formatTool",
  "go.formatFlags",
  "go.inferGopath",
  "go.gopath",
  "go.toolsGopath",
  "go.goroot",
  "go.testOnSave",
  "go.coverOnSave",
  "go.coverOnTestPackage",
  "go.coverOnSingleTest",
  "go.coverOnSingleTestFile",
  "go.coverMode",
  "go.coverShowCounts",
  "go.coverageOptions",
  "go.coverageDecorator",
  "go.testTimeout",
  "go.testEnvVars",
  "go.testEnvFile",
  "go.testFlags",
  "go.testExplorer.enable",
  "go.testExplorer.packageDisplayMode",
  "go.testExplorer.alwaysRunBenchmarks",
  "go.testExplorer.concatenateMessages",
  "go.testExplorer.showDynamicSubtestsInEditor",
  "go.testExplorer.showOutput",
  "go.experiments",
  "go.generateTestsFlags",
  "go.toolsEnvVars",
  "go.useLanguageServer",
  "go.languageServerFlags",
  "go.trace.server",
  "go.logging.level",
  "go.toolsManagement.go",
  "go.toolsManagement.checkForUpdates",
  "go.toolsManagement.autoUpdate",
  "go.enableCodeLens",
  "go.addTags",
  "go.removeTags",
  "go.playground",
  "go.survey.prompt",
  "go.editorContextMenuCommands",
  "go.delveConfig",
  "go.alternateTools",
  "go.tasks.provideDefault",
  "go.terminal.activateEnvironment",
  "go.diagnostic.vulncheck",
  "go.inlayHints.assignVariableTypes",
  "go.inlayHints.compositeLiteralFields",
  "go.inlayHints.compositeLiteralTypes",
  "go.inlayHints.constantValues",
  "go.inlayHints.functionTypeParameters",
  "go.inlayHints.parameterNames",
  "go.inlayHints.rangeVariableTypes",
  "go.inlayHints.ignoredError",
];

/// Key prefixes of settings the VS Code client reads on the user's machine:
/// in the server's Machine settings they do nothing.
const CLIENT_ONLY: &[(&str, &str)] = &[
  ("remote.SSH.", "the Remote - SSH extension runs on the client and reads the client's user settings"),
  ("terminal.integrated.", "the integrated terminal is configured in the client's settings"),
];

/// Warns about keys the server ignores and `go.*` keys the Go extension does
/// not have.
pub(super) fn check(settings: &VscodeSettings, v: &mut Validator) {
  for (key, setting) in &settings.settings {
    if let Some((prefix, why)) = CLIENT_ONLY.iter().find(|(p, _)| key.starts_with(p)) {
      v.error(
        Diagnostic::new(
          Code::ClientOnlySetting,
          format!("`{key}` in the server's machine settings does nothing: {why}"),
        )
        .label(setting.key.span, "ignored by the VS Code server")
        .help(format!(
          "set `{prefix}*` in the user settings of VS Code on each developer's own machine, and remove it here"
        )),
      );
      continue;
    }
    if key.starts_with("go.") && !GO_SETTINGS.contains(&key.as_str()) {
      let mut d = Diagnostic::new(Code::UnknownGoSetting, format!("the Go extension has no setting `{key}`"))
        .label(setting.key.span, "not a setting of the Go extension");
      d = match did_you_mean(key, GO_SETTINGS.iter().copied()) {
        Some(s) => d.help(format!("did you mean `{s}`?")),
        None => d.help("the Go extension's settings are listed in its `package.json` and at https://github.com/golang/vscode-go/wiki/settings"),
      };
      v.error(d);
    }
  }
}
