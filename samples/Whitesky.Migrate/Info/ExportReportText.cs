using System.Globalization;
using Whitesky.Migrate.Cli;

namespace Whitesky.Migrate.Info;

/// <summary>Writes an <see cref="ExportReport"/> for people, laid out like <c>nbdinfo</c>.</summary>
internal static class ExportReportText
{
    public static async Task WriteAsync(TextWriter output, ExportReport report, string uri)
    {
        var text = new System.Text.StringBuilder();
        var tls = report.Tls ? "with TLS (" + report.TlsMethod + ")" : "without TLS";
        var structured = report.StructuredReplies ? "using structured replies" : "using simple replies";
        text.Append(CultureInfo.InvariantCulture, $"protocol: newstyle-fixed {tls}, {structured}\n");
        text.Append(CultureInfo.InvariantCulture, $"export=\"{report.Name}\":\n");
        if (report.Description is not null)
        {
            text.Append(CultureInfo.InvariantCulture, $"\tdescription: {report.Description}\n");
        }

        text.Append(CultureInfo.InvariantCulture, $"\texport-size: {report.Size} ({ByteSize.Format(report.Size)})\n");
        text.Append(CultureInfo.InvariantCulture, $"\turi: {uri}\n");
        text.Append("\tcontexts:\n");
        foreach (var context in report.Contexts)
        {
            text.Append(CultureInfo.InvariantCulture, $"\t\t{context}\n");
        }

        Flag(text, "is_rotational", report.IsRotational);
        Flag(text, "is_read_only", report.IsReadOnly);
        Flag(text, "can_cache", report.CanCache);
        Flag(text, "can_df", report.CanDf);
        Flag(text, "can_fast_zero", report.CanFastZero);
        Flag(text, "can_flush", report.CanFlush);
        Flag(text, "can_fua", report.CanFua);
        Flag(text, "can_multi_conn", report.CanMultiConn);
        Flag(text, "can_trim", report.CanTrim);
        Flag(text, "can_zero", report.CanZero);
        var source = report.BlockSizeAdvertised ? string.Empty : " (protocol default)";
        text.Append(CultureInfo.InvariantCulture, $"\tblock_size_minimum: {report.BlockSizeMinimum}{source}\n");
        text.Append(CultureInfo.InvariantCulture, $"\tblock_size_preferred: {report.BlockSizePreferred}{source}\n");
        text.Append(CultureInfo.InvariantCulture, $"\tblock_size_maximum: {report.BlockSizeMaximum}{source}\n");
        text.Append(CultureInfo.InvariantCulture, $"\ttransmission_flags: 0x{report.TransmissionFlags:x4}\n");
        await output.WriteAsync(text.ToString());
    }

    private static void Flag(System.Text.StringBuilder text, string name, bool value) =>
        text.Append('\t').Append(name).Append(": ").Append(value ? "true" : "false").Append('\n');
}
