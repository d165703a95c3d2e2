//! What a `sim:` connection asks for, read and checked against the device's profile without
//! touching anything.
//!
//! This is the one place that reads simulator kinds and options, so [`crate::SimFactory`]'s
//! `check` (every problem, for `counter-agent check` and start-up) and `open` (refuses the same
//! specs) cannot disagree. Every problem is one sentence, `what is wrong — what to write instead`.

use counter_agent_driver_api::{Connection, DeviceSettings, DocumentFormat, OpenSpec, StatusReason};

use crate::printer::{format_name, PrinterModel};
use crate::MAX_SHEETS;

/// A `sim:` kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SimKind {
    Scanner,
    Printer(PrinterModel),
}

/// Every kind, in the order messages list them.
const KINDS: [SimKind; 4] = [
    SimKind::Scanner,
    SimKind::Printer(PrinterModel::A4),
    SimKind::Printer(PrinterModel::Receipt80),
    SimKind::Printer(PrinterModel::Receipt58),
];

/// What to write when no simulator fits the profile.
const NO_SIMULATOR_FITS: &str = "pick a profile a simulator can serve: formats = [\"pdf\"] for sim:printer-a4, or \
                                 formats = [\"escpos\"] with printable_dots up to 576 for sim:printer-80mm";

impl SimKind {
    /// As written after `sim:`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            SimKind::Scanner => "scanner",
            SimKind::Printer(model) => model.kind_name(),
        }
    }

    fn parse(kind: &str, settings: &DeviceSettings) -> Result<SimKind, String> {
        if let Some(known) = KINDS.into_iter().find(|known| known.name() == kind) {
            return Ok(known);
        }
        let names: Vec<String> = KINDS.iter().map(|known| format!("sim:{}", known.name())).collect();
        let all = match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => names.concat(),
        };
        Err(match SimKind::for_settings(settings) {
            Some(fits) => format!(
                "`sim:{kind}` is not a simulator — write connection = \"sim:{}\" for this profile (the simulators \
                 are {all})",
                fits.name()
            ),
            None => format!("`sim:{kind}` is not a simulator — write one of {all}"),
        })
    }

    /// The simulator that serves a profile with these settings: the narrowest one its documents fit.
    pub(crate) fn for_settings(settings: &DeviceSettings) -> Option<SimKind> {
        let DeviceSettings::Printer(printer) = settings else {
            return Some(SimKind::Scanner);
        };
        let only = |format: DocumentFormat| !printer.formats.is_empty() && printer.formats.iter().all(|f| *f == format);
        if only(DocumentFormat::Pdf) {
            return Some(SimKind::Printer(PrinterModel::A4));
        }
        if !only(DocumentFormat::EscPos) {
            return None;
        }
        [PrinterModel::Receipt58, PrinterModel::Receipt80]
            .into_iter()
            .find(|model| model.width_dots().is_some_and(|width| printer.printable_dots <= width))
            .map(SimKind::Printer)
    }

    /// Whether this simulator can serve a device with these settings.
    fn settings_problem(self, settings: &DeviceSettings) -> Option<String> {
        let here = format!("sim:{}", self.name());
        let instead = match SimKind::for_settings(settings) {
            Some(fits) => format!("write connection = \"sim:{}\"", fits.name()),
            None => NO_SIMULATOR_FITS.to_string(),
        };
        match (self, settings) {
            (SimKind::Scanner, DeviceSettings::Scanner(_)) => None,
            (SimKind::Scanner, DeviceSettings::Printer(_)) => {
                Some(format!("{here} is a scanner but the profile is for a printer — {instead}"))
            }
            (SimKind::Printer(_), DeviceSettings::Scanner(_)) => {
                Some(format!("{here} is a printer but the profile is for a scanner — {instead}"))
            }
            (SimKind::Printer(model), DeviceSettings::Printer(printer)) => {
                let accepted = model.accepts();
                let others: Vec<&str> =
                    printer.formats.iter().filter(|format| **format != accepted).map(|f| format_name(*f)).collect();
                if !others.is_empty() {
                    let accepted = format_name(accepted);
                    let others = others.join(" and ");
                    return Some(format!("{here} takes {accepted} only but the profile sends {others} — {instead}"));
                }
                let width = model.width_dots()?;
                (printer.printable_dots > width).then(|| {
                    let dots = printer.printable_dots;
                    format!("{here} prints {width} dots wide but the profile needs {dots} — {instead}")
                })
            }
        }
    }
}

/// Options of a `sim:` connection, validated.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct SimOptions {
    pub(crate) n_sheets: Option<u32>,
    pub(crate) jam_at: Option<u32>,
    /// `Some(None)` for `paper=ok`.
    pub(crate) paper: Option<Option<StatusReason>>,
}

fn parse_count(key: &str, value: &str, max: u32, what: &str) -> Result<u32, String> {
    match value.parse::<u32>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(format!("`{key}={value}` is not {what} — write {key}=N with N from 1 to {max}")),
    }
}

fn parse_paper(value: &str) -> Result<Option<StatusReason>, String> {
    match value {
        "out" => Ok(Some(StatusReason::PaperOut)),
        "near-end" => Ok(Some(StatusReason::PaperNearEnd)),
        "ok" => Ok(None),
        _ => Err(format!("`paper={value}` is not a paper state — write paper=out, paper=near-end or paper=ok")),
    }
}

impl SimOptions {
    /// Reads every option, adding a problem for each one that is unknown, repeated or out of range.
    fn parse(kind: SimKind, options: &[(String, String)], problems: &mut Vec<String>) -> SimOptions {
        let mut parsed = SimOptions::default();
        for (i, (key, value)) in options.iter().enumerate() {
            if options[..i].iter().any(|(earlier, _)| earlier == key) {
                problems.push(format!("option `{key}` is given twice in sim:{} — keep one", kind.name()));
                continue;
            }
            let result = match (kind, key.as_str()) {
                (SimKind::Scanner, "pages") => {
                    parse_count(key, value, MAX_SHEETS, "a number of sheets").map(|n| parsed.n_sheets = Some(n))
                }
                (SimKind::Scanner, "jam_at") => {
                    parse_count(key, value, 2 * MAX_SHEETS, "a page number").map(|n| parsed.jam_at = Some(n))
                }
                (SimKind::Printer(_), "paper") => parse_paper(value).map(|paper| parsed.paper = Some(paper)),
                (SimKind::Scanner, _) => Err(format!(
                    "sim:scanner has no option `{key}` — remove it; sim:scanner takes pages=N and jam_at=N"
                )),
                (SimKind::Printer(model), _) => {
                    let here = model.kind_name();
                    Err(format!("sim:{here} has no option `{key}` — remove it; sim:{here} takes paper=out|near-end|ok"))
                }
            };
            if let Err(problem) = result {
                problems.push(problem);
            }
        }
        parsed
    }
}

/// A `sim:` device that can be opened: its kind and options.
#[derive(Debug)]
pub(crate) struct SimSpec {
    pub(crate) kind: SimKind,
    pub(crate) options: SimOptions,
}

/// Reads `spec` as a simulator. `Err` holds every problem found, at least one.
pub(crate) fn read(spec: &OpenSpec) -> Result<SimSpec, Vec<String>> {
    let Connection::Sim { kind, options } = &spec.connection else {
        let scheme = spec.connection.scheme();
        return Err(vec![format!(
            "`{scheme}:` connections are not simulated — the simulator driver opens sim: connections only, e.g. \
             sim:printer-80mm"
        )]);
    };
    let mut problems = Vec::new();
    let read = match SimKind::parse(kind, &spec.settings) {
        Ok(kind) => {
            let options = SimOptions::parse(kind, options, &mut problems);
            problems.extend(kind.settings_problem(&spec.settings));
            Some(SimSpec { kind, options })
        }
        Err(problem) => {
            problems.push(problem);
            None
        }
    };
    problems.extend(check_device_id(&spec.id));
    match read {
        Some(read) if problems.is_empty() => Ok(read),
        _ => Err(problems),
    }
}

/// Device ids name output folders: keep them to one plain path component.
fn check_device_id(id: &str) -> Option<String> {
    let plain = id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    (id.is_empty() || !plain || id.starts_with('.')).then(|| {
        format!(
            "device id `{id}` cannot name a simulator's output folder — use letters, digits, `-`, `_` and `.`, not \
             starting with `.`"
        )
    })
}
