using Whitesky.Nbd;

namespace Whitesky.Migrate.Info;

/// <summary>Gathers an <see cref="ExportReport"/>: the export's description (<c>NBD_OPT_INFO</c>) and the meta contexts the server offers.</summary>
internal static class ExportReportReader
{
    public static async Task<ExportReport> ReadAsync(NbdClientOptions options, CancellationToken cancellationToken)
    {
        var export = await DescribeAsync(options, cancellationToken);
        var contexts = export.StructuredReplies
            ? await NbdClient.ListMetaContextsAsync(options, cancellationToken: cancellationToken)
            : [];
        return ExportReport.From(export, contexts.Count > 0 ? contexts : export.MetaContexts);
    }

    private static async Task<NbdExportInfo> DescribeAsync(NbdClientOptions options, CancellationToken cancellationToken)
    {
        try
        {
            return await NbdClient.GetExportInfoAsync(options, cancellationToken);
        }
        catch (NbdOptionException ex) when (ex.ReplyName == "NBD_REP_ERR_UNSUP")
        {
            // Servers older than NBD_OPT_INFO describe the export only when it is opened.
            var client = await NbdClient.ConnectAsync(options, cancellationToken);
            await using (client)
            {
                return client.Export;
            }
        }
    }
}
