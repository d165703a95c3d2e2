//! Draws an ESC/POS byte file as the simulated receipt printers would, to look at it.
//!
//! ```text
//! cargo run -p counter-agent-driver-sim --example escpos_preview -- IN.escpos OUT.png [WIDTH_DOTS]
//! ```

use counter_agent_driver_sim::escpos_preview::render_preview;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: escpos_preview IN.escpos OUT.png [WIDTH_DOTS]";
    let input = args.next().ok_or(usage)?;
    let output = args.next().ok_or(usage)?;
    let width: u32 = args.next().map_or(Ok(576), |w| w.parse())?;
    let preview = render_preview(&std::fs::read(input)?, width)?;
    preview.image.save(&output)?;
    println!(
        "{}x{} dots, {} cut(s), {} QR code(s), {} replaced byte(s), code table {}",
        preview.image.width(),
        preview.image.height(),
        preview.n_cuts,
        preview.n_qr_codes,
        preview.n_replaced,
        preview.code_table
    );
    Ok(())
}
