//! The `onsite-server` binary: admin subcommands on a data dir, then `serve` on port 0.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_onsite-server"));
    c.env_remove("ONSITE_DATA")
        .env_remove("ONSITE_LISTEN")
        .env("RUST_LOG", "warn");
    c
}

#[test]
fn admin_commands_then_serve_on_port_zero() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().to_str().unwrap();
    let mut add = bin()
        .args([
            "user",
            "add",
            "--username",
            "dana",
            "--name",
            "Dana Okafor",
            "--role",
            "dispatcher",
            "--data",
            data,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    add.stdin.take().unwrap().write_all(b"office-secret\n")?;
    assert!(add.wait()?.success());
    let bad = bin()
        .args([
            "user",
            "add",
            "--username",
            "x",
            "--name",
            "X",
            "--role",
            "boss",
            "--data",
            data,
        ])
        .output()?;
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr)
            .contains("expected one of: technician, dispatcher, admin")
    );
    let demo = bin().args(["demo", "load", "--data", data]).output()?;
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    let list = bin()
        .args(["user", "list", "--json", "--data", data])
        .output()?;
    let users: serde_json::Value = serde_json::from_slice(&list.stdout)?;
    let names: Vec<&str> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alice", "bob", "dana"]);

    let mut server = bin()
        .args(["serve", "--listen", "127.0.0.1:0", "--data", data])
        .stdout(Stdio::piped())
        .spawn()?;
    let url = common::listening_url(&mut server);
    let addr = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr)?;
    stream.write_all(b"GET /healthz HTTP/1.0\r\nHost: x\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    server.kill()?;
    server.wait()?;
    assert!(response.starts_with("HTTP/1.0 200"), "{response}");
    assert!(response.ends_with("{\"status\":\"ok\"}"), "{response}");
    Ok(())
}
