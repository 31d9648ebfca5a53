//! Small SVG line charts for the benchmark report (no plotting dependency:
//! a few axes, lines and labels are all it takes).

use std::fmt::Write;

/// One line of a chart.
pub struct Series {
    pub name: &'static str,
    pub color: &'static str,
    pub points: Vec<(f64, f64)>,
    pub dashed: bool,
}

/// A line chart with linear axes starting at zero.
pub fn line_chart(title: &str, x_label: &str, y_label: &str, series: &[Series]) -> String {
    let (w, h) = (640.0, 360.0);
    let (left, right, top, bottom) = (70.0, 20.0, 40.0, 50.0);
    let (pw, ph) = (w - left - right, h - top - bottom);
    let all = series.iter().flat_map(|s| s.points.iter());
    let x_max = nice(all.clone().map(|p| p.0).fold(0.0, f64::max));
    let y_max = nice(all.map(|p| p.1).fold(0.0, f64::max));
    let x = |v: f64| left + v / x_max * pw;
    let y = |v: f64| top + ph - v / y_max * ph;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="{}" y="22" text-anchor="middle" font-size="15" font-weight="bold">{}</text>
"##,
        w / 2.0,
        esc(title)
    );
    for i in 0..=5 {
        let (xv, yv) = (x_max * f64::from(i) / 5.0, y_max * f64::from(i) / 5.0);
        let _ = write!(
            svg,
            r##"<line x1="{left}" x2="{}" y1="{y}" y2="{y}" stroke="#e5e5e5"/><text x="{}" y="{}" text-anchor="end">{}</text>
<line x1="{x}" x2="{x}" y1="{top}" y2="{}" stroke="#e5e5e5"/><text x="{x}" y="{}" text-anchor="middle">{}</text>
"##,
            left + pw,
            left - 6.0,
            y(yv) + 4.0,
            short(yv),
            top + ph,
            top + ph + 16.0,
            short(xv),
            y = y(yv),
            x = x(xv),
        );
    }
    let _ = write!(
        svg,
        r##"<line x1="{left}" x2="{left}" y1="{top}" y2="{}" stroke="black"/><line x1="{left}" x2="{}" y1="{}" y2="{}" stroke="black"/>
<text x="{}" y="{}" text-anchor="middle">{}</text>
<text transform="translate(16 {}) rotate(-90)" text-anchor="middle">{}</text>
"##,
        top + ph,
        left + pw,
        top + ph,
        top + ph,
        left + pw / 2.0,
        h - 10.0,
        esc(x_label),
        top + ph / 2.0,
        esc(y_label)
    );
    for (n, s) in series.iter().enumerate() {
        let path: Vec<String> = s
            .points
            .iter()
            .map(|(a, b)| format!("{:.1},{:.1}", x(*a), y(*b)))
            .collect();
        let dash = if s.dashed {
            r#" stroke-dasharray="6 4""#
        } else {
            ""
        };
        let _ = writeln!(
            svg,
            r#"<polyline fill="none" stroke="{}" stroke-width="2"{dash} points="{}"/>"#,
            s.color,
            path.join(" ")
        );
        for (a, b) in &s.points {
            let _ = writeln!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{}"/>"#,
                x(*a),
                y(*b),
                s.color
            );
        }
        let ly = top + 8.0 + 16.0 * n as f64;
        let _ = writeln!(
            svg,
            r#"<line x1="{}" x2="{}" y1="{ly}" y2="{ly}" stroke="{}" stroke-width="2"{dash}/><text x="{}" y="{}">{}</text>"#,
            left + 10.0,
            left + 30.0,
            s.color,
            left + 36.0,
            ly + 4.0,
            esc(s.name)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// A round upper bound for an axis.
fn nice(max: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let step = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * step)
        .find(|v| *v >= max)
        .unwrap_or(10.0 * step)
}

fn short(v: f64) -> String {
    if v >= 1000.0 && (v / 1000.0).fract() == 0.0 {
        format!("{}k", v / 1000.0)
    } else if v.fract() == 0.0 {
        format!("{v}")
    } else {
        format!("{v:.1}")
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
