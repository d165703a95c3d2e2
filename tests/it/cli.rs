//! The command line as a technician uses it: `check` on broken and good station files, `token`.

use std::process::Command;

use crate::harness::{test_station, TestAgent, APP_ORIGIN};

fn agent_binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_counter-agent"))
}

fn run(command: &mut Command) -> (bool, String, String) {
    let output = command.env("COUNTER_AGENT_LOG", "warn").output().expect("run counter-agent");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn check_reports_every_problem_with_line_and_column() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("station.toml");
    std::fs::write(
        &path,
        r#"[station]
name = "Quầy 3"
counter = "ba"

[server]
listne = "127.0.0.1:7420"
allowed_origins = ["https://motcua.example.gov.vn/"]

[[device]]
id = "scanner"
profile = "sane-genric"
connection = "sim:scanner"

[[device]]
id = "scanner"
profile = "escpos-generic-80mm"
connection = "lpt:1"
"#,
    )
    .expect("write station");
    let (ok, stdout, stderr) = run(agent_binary().arg("check").arg("--config").arg(&path));
    assert!(!ok, "check must fail; stdout: {stdout}");
    let file = path.display().to_string();
    for (line_col, text) in [
        ("3:11", "counter"),
        ("6:1", "listne"),
        ("7:20", "has a path"),
        ("11:11", "sane-genric"),
        ("15:6", "scanner"),
        ("17:14", "lpt"),
    ] {
        let prefix = format!("{file}:{line_col}: error: ");
        assert!(
            stderr.lines().any(|l| l.starts_with(&prefix) && l.contains(text)),
            "no `{prefix}…{text}…` line in:\n{stderr}"
        );
    }
    assert!(stderr.contains("did you mean `listen`?"), "{stderr}");
    // Every diagnostic line has a hint after the dash.
    for line in stderr.lines().filter(|l| l.starts_with(&file)) {
        assert!(line.contains(" — "), "no hint: {line}");
    }
}

/// What would fail at start-up fails `check` too: the simulator driver's own checks, at the
/// connection value, after the station file itself passed.
#[test]
fn check_reports_what_the_drivers_would_refuse() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("station.toml");
    std::fs::write(
        &path,
        format!(
            "[station]\nname = \"Quầy 1\"\ncounter = 1\n[server]\nallowed_origins = [\"{APP_ORIGIN}\"]\n[storage]\ndata_dir = \"data\"\n\
             [[device]]\nid = \"scanner\"\nprofile = \"sane-generic\"\nconnection = \"sim:printer-a4\"\n\
             [[device]]\nid = \"feeder\"\nprofile = \"sane-generic\"\nconnection = \"sim:scanner?pages=0\"\n"
        ),
    )
    .expect("write station");
    let (ok, stdout, stderr) = run(agent_binary().arg("check").arg("--config").arg(&path));
    assert!(!ok, "check must fail; stdout: {stdout}\nstderr: {stderr}");
    assert!(!stdout.contains("OK"), "{stdout}");
    let file = path.display();
    for expected in [
        format!(
            "{file}:11:14: error: device `scanner`: sim:printer-a4 is a printer but the profile is for a scanner — \
             write connection = \"sim:scanner\""
        ),
        format!(
            "{file}:15:14: error: device `feeder`: `pages=0` is not a number of sheets — write pages=N with N from 1 \
             to 500"
        ),
    ] {
        assert!(stderr.lines().any(|line| line == expected), "no line\n{expected}\nin:\n{stderr}");
    }
}

/// `serve --demo` runs the same checks: the built-in demo station must pass them.
#[test]
fn the_demo_station_passes_the_drivers_checks() {
    let station = test_station(std::path::Path::new("demo-data"));
    let (drivers, _) = counter_agent::agent::registry(&station);
    let problems = counter_agent::config::check_devices(&station, |spec| {
        drivers.factory_for(spec.connection.scheme()).map_or_else(Vec::new, |factory| factory.check(spec))
    });
    assert!(problems.is_empty(), "{problems}");
    assert_eq!(station.devices.len(), 4);
}

#[test]
fn check_accepts_a_good_station_and_names_what_it_found() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("station.toml");
    std::fs::write(
        &path,
        format!(
            "[station]\nname = \"Quầy 1\"\ncounter = 1\n[server]\nallowed_origins = [\"{APP_ORIGIN}\"]\n[storage]\ndata_dir = \"data\"\n\
             [[device]]\nid = \"a4\"\nprofile = \"ipp-everywhere-a4\"\nconnection = \"sim:printer-a4\"\n"
        ),
    )
    .expect("write station");
    let (ok, stdout, stderr) = run(agent_binary().arg("check").arg("--config").arg(&path));
    assert!(ok, "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains("OK") && stdout.contains("1 device(s)"), "{stdout}");
}

#[tokio::test]
async fn a_token_created_on_the_command_line_works_for_its_origin_only() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("station.toml");
    let data = dir.path().join("data");
    std::fs::write(
        &path,
        format!(
            "[station]\nname = \"Quầy 1\"\ncounter = 1\n[server]\nallowed_origins = [\"{APP_ORIGIN}\"]\n[storage]\ndata_dir = \"{}\"\n",
            data.display()
        ),
    )
    .expect("write station");
    let (ok, stdout, stderr) = run(agent_binary()
        .args(["token", "create", "--config"])
        .arg(&path)
        .args(["--origin", APP_ORIGIN, "--scopes", "print"]));
    assert!(ok, "{stderr}");
    let secret = stdout.trim().to_string();
    assert!(secret.starts_with("cat_") && !stderr.contains(&secret), "the secret goes to stdout only");
    let (_, unknown_scope_out, unknown_scope_err) = run(agent_binary()
        .args(["token", "create", "--config"])
        .arg(&path)
        .args(["--origin", APP_ORIGIN, "--scopes", "root"]));
    assert!(unknown_scope_out.is_empty() && unknown_scope_err.contains("unknown scope `root`"), "{unknown_scope_err}");

    // The agent started on the same data directory accepts it.
    let station = test_station(&data);
    let agent = TestAgent::start_station(station, crate::harness::fast_options(), dir).await;
    let response = agent.get("/v1/devices", &secret).send().await.expect("send");
    assert_eq!(response.status(), 200);
    let (_, list, _) =
        run(agent_binary().args(["token", "list", "--config"]).arg(agent.data_dir.path().join("station.toml")));
    assert!(list.contains(APP_ORIGIN) && list.contains("print") && !list.contains(&secret), "{list}");
    agent.stop().await;
}

#[tokio::test]
async fn the_openapi_document_lists_every_route_and_error_code() {
    let agent = TestAgent::start().await;
    let document: serde_json::Value = TestAgent::client()
        .get(agent.url("/v1/openapi.json"))
        .header("Origin", APP_ORIGIN)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let paths = document["paths"].as_object().expect("paths");
    for route in [
        "/v1/health",
        "/v1/devices",
        "/v1/devices/{id}",
        "/v1/events",
        "/v1/events/ticket",
        "/v1/pairing/start",
        "/v1/pairing/complete",
        "/v1/scans",
        "/v1/scans/{id}",
        "/v1/scans/{id}/continue",
        "/v1/scans/{id}/pages/{n}",
        "/v1/scans/{id}/document",
        "/v1/prints",
        "/v1/prints/{id}",
        "/v1/tokens",
        "/v1/tokens/{id}",
        "/v1/tokens/self",
    ] {
        assert!(paths.contains_key(route), "{route} missing from the OpenAPI document");
    }
    let codes = document["components"]["schemas"]["ErrorCode"]["enum"].as_array().expect("error codes");
    for code in counter_agent::api::error::ErrorCode::ALL {
        assert!(codes.contains(&serde_json::json!(code.as_str())), "{} missing", code.as_str());
    }
    agent.stop().await;
}

#[test]
fn serve_on_a_taken_port_says_so_once_and_exits() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("station.toml");
    std::fs::write(
        &path,
        format!(
            "[station]\nname = \"Quầy 1\"\ncounter = 1\n[server]\nlisten = \"127.0.0.1:{port}\"\nallowed_origins = [\"{APP_ORIGIN}\"]\n[storage]\ndata_dir = \"data\"\n"
        ),
    )
    .expect("write station");
    let (ok, _, stderr) = run(agent_binary().arg("serve").arg("--config").arg(&path));
    assert!(!ok);
    assert!(stderr.contains("another counter-agent"), "{stderr}");
    assert_eq!(stderr.matches("os error").count(), 1, "the OS error is printed once: {stderr}");
}

#[test]
fn scan_refuses_an_output_path_it_cannot_write_before_scanning() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().join("data");
    for out in [dir.path().join("no-such-folder").join("hoso.pdf"), dir.path().to_path_buf()] {
        let started = std::time::Instant::now();
        let (ok, _, stderr) = run(agent_binary()
            .args(["scan", "--demo", "--device", "scanner", "--source", "adf", "--dpi", "300", "--data-dir"])
            .arg(&data_dir)
            .arg("--out")
            .arg(&out));
        assert!(!ok, "{}: {stderr}", out.display());
        assert!(stderr.contains(&out.display().to_string()), "names the path: {stderr}");
        assert!(!stderr.contains("page(s) were scanned"), "refused before scanning: {stderr}");
        // A 4-page 300 dpi batch on the simulator takes seconds; the refusal must not wait for it.
        assert!(started.elapsed() < std::time::Duration::from_secs(3), "took {:?}", started.elapsed());
    }
    assert!(std::fs::read_dir(dir.path()).expect("dir").all(|e| !e
        .expect("entry")
        .file_name()
        .to_string_lossy()
        .ends_with(".part")));
}

#[test]
fn print_renders_a_template_on_the_demo_ticket_printer_and_refuses_bad_documents() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("ticket.json");
    std::fs::write(&data, crate::thermal::queue_ticket_data().to_string()).expect("write data");
    let data_dir = dir.path().join("demo-data");
    let demo = |args: &[&str]| {
        let mut command = agent_binary();
        command.args(["print", "--demo", "--data-dir"]).arg(&data_dir).args(args);
        run(&mut command)
    };
    let (ok, _, stderr) =
        demo(&["--device", "ticket", "--template", "queue-ticket", "--data", &data.to_string_lossy()]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("Printed: job"), "{stderr}");
    let printed = crate::harness::folder_names(&data_dir.join("sim-output").join("ticket"));
    assert_eq!(printed.iter().filter(|name| name.ends_with(".escpos")).count(), 1, "{printed:?}");
    let (ok, _, stderr) = demo(&["--device", "a4", &data.to_string_lossy()]);
    assert!(!ok && stderr.contains("not a PDF"), "{stderr}");
    let (ok, _, stderr) =
        demo(&["--device", "scanner", "--template", "queue-ticket", "--data", &data.to_string_lossy()]);
    assert!(!ok && stderr.contains("not a printer"), "{stderr}");
    let (ok, _, stderr) = demo(&["--device", "ticket", "--template", "hoa-don", "--data", &data.to_string_lossy()]);
    assert!(!ok && stderr.contains("unknown template `hoa-don`"), "{stderr}");
    // Nothing else printed, no spool left behind.
    let printed = crate::harness::folder_names(&data_dir.join("sim-output").join("ticket"));
    assert_eq!(printed.iter().filter(|name| name.ends_with(".escpos")).count(), 1);
    assert!(!crate::harness::folder_names(&data_dir).iter().any(|name| name.starts_with("print-cli-")));
}
