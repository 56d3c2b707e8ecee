using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Whitesky.Migration.Cutover;
using Whitesky.Nbd;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Migration.Tests.Cutover;

/// <summary>
/// The runner's steps, ordering, rollback and downtime against real sockets: each "VM" is a TCP service that the
/// hooks start and stop, probed over TCP and HTTP; DNS TTLs come from a real dnsmasq.
/// </summary>
public class CutoverRunnerTests
{
    /// <summary>A service on a loopback port that can be started and stopped, standing for a VM's application.</summary>
    private sealed class LoopbackService : IAsyncDisposable
    {
        private HttpListener? _listener;

        public int Port { get; } = ServerProcess.FreePort();

        public bool Running => _listener is not null;

        public Task StartAsync()
        {
            var listener = new HttpListener();
            listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
            listener.Start();
            _listener = listener;
            _ = ServeAsync(listener);
            return Task.CompletedTask;
        }

        public Task StopAsync()
        {
            _listener?.Close();
            _listener = null;
            return Task.CompletedTask;
        }

        private static async Task ServeAsync(HttpListener listener)
        {
            try
            {
                while (true)
                {
                    var context = await listener.GetContextAsync();
                    var body = "healthy"u8.ToArray();
                    context.Response.StatusCode = 200;
                    await context.Response.OutputStream.WriteAsync(body);
                    context.Response.Close();
                }
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
            {
                // stopped
            }
        }

        public ValueTask DisposeAsync() => new(StopAsync());
    }

    private sealed class ServiceTarget(LoopbackService service, ConcurrentQueue<string> events, string name, bool fail = false) : ICutoverTarget
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            events.Enqueue($"start-target {name}");
            if (!fail)
            {
                await service.StartAsync();
            }
        }

        public Task StopAsync(CancellationToken cancellationToken)
        {
            events.Enqueue($"stop-target {name}");
            return service.StopAsync();
        }
    }

    private sealed class RecordingDns(ConcurrentQueue<string> events) : IDnsSwitch
    {
        public Task SwitchAsync(CancellationToken cancellationToken)
        {
            events.Enqueue("dns-switch");
            return Task.CompletedTask;
        }

        public Task RevertAsync(CancellationToken cancellationToken)
        {
            events.Enqueue("dns-revert");
            return Task.CompletedTask;
        }
    }

    private static CutoverVm Vm(string name, LoopbackService source, LoopbackService target, ConcurrentQueue<string> events, long syncBytes, bool targetFails = false) => new()
    {
        Name = name,
        StopSource = async _ =>
        {
            events.Enqueue($"stop-source {name}");
            await source.StopAsync();
        },
        RestartSource = async _ =>
        {
            events.Enqueue($"restart-source {name}");
            await source.StartAsync();
        },
        FinalSync = _ =>
        {
            events.Enqueue($"final-sync {name}");
            Assert.False(source.Running, "the final sync runs after the source stopped");
            return Task.FromResult(syncBytes);
        },
        Target = new ServiceTarget(target, events, name, targetFails),
        Probes = [new TcpProbe("127.0.0.1", target.Port), new HttpProbe(new Uri($"http://127.0.0.1:{target.Port}/health"), HttpStatusCode.OK, "healthy")],
        LastReplicatedAt = DateTimeOffset.UtcNow,
        LastDeltaBytes = 1 << 20,
    };

    [Fact]
    public async Task Two_vms_are_cut_over_in_order_and_the_downtime_spans_first_stop_to_last_validation()
    {
        await using LoopbackService webSource = new(), webTarget = new(), dbSource = new(), dbTarget = new();
        await webSource.StartAsync();
        await dbSource.StartAsync();
        var events = new ConcurrentQueue<string>();
        var plan = new CutoverPlan
        {
            Application = "shop",
            Vms = [Vm("web", webSource, webTarget, events, 4096), Vm("db", dbSource, dbTarget, events, 1 << 20)],
            Dns = new RecordingDns(events),
            MaxDeltaBytes = 16 << 20,
            ProbeInterval = TimeSpan.FromMilliseconds(50),
        };

        var progress = new ConcurrentQueue<CutoverProgress>();
        var report = await new CutoverRunner().RunAsync(plan, new SynchronousProgress<CutoverProgress>(progress.Enqueue));

        Assert.True(report.Succeeded, report.Failure);
        Assert.False(report.RolledBack);
        Assert.True(webTarget.Running && dbTarget.Running);
        Assert.False(webSource.Running || dbSource.Running);
        var order = events.ToList();
        foreach (var vm in new[] { "web", "db" })
        {
            Assert.True(order.IndexOf($"stop-source {vm}") < order.IndexOf($"final-sync {vm}"));
            Assert.True(order.IndexOf($"final-sync {vm}") < order.IndexOf($"start-target {vm}"));
        }

        // Final syncs only after every source stopped, DNS only after every target started and validated.
        Assert.True(order.FindLastIndex(e => e.StartsWith("stop-source", StringComparison.Ordinal)) < order.FindIndex(e => e.StartsWith("final-sync", StringComparison.Ordinal)));
        Assert.Equal("dns-switch", order[^1]);
        Assert.Equal(
            [CutoverStep.PreChecks, CutoverStep.StopSources, CutoverStep.FinalSync, CutoverStep.StartTargets, CutoverStep.Validate, CutoverStep.SwitchDns],
            report.Steps.Select(s => s.Step).Distinct());
        Assert.All(report.Steps, s => Assert.Null(s.Error));
        Assert.Equal(4096, report.FinalSyncBytes["web"]);
        Assert.Equal(1 << 20, report.FinalSyncBytes["db"]);
        Assert.NotNull(report.Downtime);
        Assert.All(report.DowntimeByVm.Values, d => Assert.True(d <= report.Downtime));
        var firstStop = report.Steps.Where(s => s.Step == CutoverStep.StopSources).Min(s => s.Started);
        var lastValidation = report.Steps.Where(s => s.Step == CutoverStep.Validate).Max(s => s.Started + s.Duration);
        Assert.InRange(report.Downtime!.Value, TimeSpan.Zero, lastValidation - firstStop + TimeSpan.FromMilliseconds(1));
        Assert.Contains("downtime:", report.ToText(), StringComparison.Ordinal);
        Assert.Equal(2 * report.Steps.Count, progress.Count);
    }

    [Fact]
    public async Task A_target_that_never_answers_rolls_everything_back_and_the_sources_serve_again()
    {
        await using LoopbackService webSource = new(), webTarget = new(), dbSource = new(), dbTarget = new();
        await webSource.StartAsync();
        await dbSource.StartAsync();
        var events = new ConcurrentQueue<string>();
        var plan = new CutoverPlan
        {
            Application = "shop",
            Vms = [Vm("web", webSource, webTarget, events, 1), Vm("db", dbSource, dbTarget, events, 1, targetFails: true)],
            Dns = new RecordingDns(events),
            ValidationTimeout = TimeSpan.FromSeconds(1),
            ProbeInterval = TimeSpan.FromMilliseconds(50),
        };

        var report = await new CutoverRunner().RunAsync(plan);

        Assert.False(report.Succeeded);
        Assert.True(report.RolledBack);
        Assert.Null(report.Downtime);
        Assert.Contains("db did not pass tcp://127.0.0.1:" + dbTarget.Port.ToString(CultureInfo.InvariantCulture), report.Failure, StringComparison.Ordinal);
        Assert.DoesNotContain("dns-switch", events);
        Assert.Contains("stop-target web", events);
        Assert.Contains("restart-source web", events);
        Assert.Contains("restart-source db", events);
        Assert.False(webTarget.Running);
        await new TcpProbe("127.0.0.1", webSource.Port).CheckAsync(CancellationToken.None);
        await new TcpProbe("127.0.0.1", dbSource.Port).CheckAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Stale_replication_fails_the_pre_checks_before_anything_stops()
    {
        await using LoopbackService source = new(), target = new();
        await source.StartAsync();
        var events = new ConcurrentQueue<string>();
        var vm = Vm("web", source, target, events, 1) with { LastReplicatedAt = DateTimeOffset.UtcNow.AddHours(-2), LastDeltaBytes = 5L << 30 };
        var plan = new CutoverPlan { Application = "shop", Vms = [vm], MaxDeltaBytes = 1L << 30 };

        var report = await new CutoverRunner().RunAsync(plan);

        Assert.False(report.Succeeded);
        Assert.False(report.RolledBack);
        Assert.Contains("last replicated 120 min ago", report.Failure, StringComparison.Ordinal);
        Assert.Contains("last delta was 5368709120 bytes", report.Failure, StringComparison.Ordinal);
        Assert.Empty(events);
        Assert.True(source.Running);
    }

    [Fact]
    public async Task Cancelling_after_the_sources_stopped_restarts_them_before_throwing()
    {
        await using LoopbackService source = new(), target = new();
        await source.StartAsync();
        var events = new ConcurrentQueue<string>();
        using var cancel = new CancellationTokenSource();
        var vm = Vm("web", source, target, events, 1) with
        {
            FinalSync = async ct =>
            {
                await cancel.CancelAsync();
                ct.ThrowIfCancellationRequested();
                return 0;
            },
        };

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new CutoverRunner().RunAsync(new CutoverPlan { Application = "shop", Vms = [vm] }, null, cancel.Token));
        Assert.Contains("restart-source web", events);
        Assert.True(source.Running);
    }

    [Fact]
    public async Task Dns_ttls_are_read_from_a_real_name_server_and_a_long_ttl_stops_the_cutover()
    {
        var port = ServerProcess.FreePort();
        await using var dns = await ServerProcess.StartAsync("dnsmasq",
            ["--keep-in-foreground", "--no-resolv", "--no-hosts", "--conf-file=/dev/null", "--pid-file=", "--listen-address=127.0.0.1",
             "--bind-interfaces", "--local=/example.test/", "--port=" + port.ToString(CultureInfo.InvariantCulture), "--log-facility=-",
             "--host-record=app.example.test,10.1.2.3,600", "--host-record=db.example.test,10.1.2.4,60"],
            NbdEndpoint.Tcp("127.0.0.1", port), null);
        var server = new IPEndPoint(IPAddress.Loopback, port);

        var findings = await DnsTtlCheck.CheckAsync(["app.example.test", "db.example.test", "gone.example.test"], TimeSpan.FromMinutes(5), server);
        Assert.Equal(
            [("app.example.test", (TimeSpan?)TimeSpan.FromSeconds(600), false), ("db.example.test", TimeSpan.FromSeconds(60), true), ("gone.example.test", null, true)],
            findings.Select(f => (f.Name, f.Ttl, f.WithinLimit)));

        await using LoopbackService source = new(), target = new();
        await source.StartAsync();
        var events = new ConcurrentQueue<string>();
        var plan = new CutoverPlan
        {
            Application = "shop",
            Vms = [Vm("web", source, target, events, 1)],
            DnsNames = ["app.example.test"],
            DnsServer = server,
        };
        var report = await new CutoverRunner().RunAsync(plan);
        Assert.False(report.Succeeded);
        Assert.Contains("app.example.test has a TTL of 600 s (at most 300 s planned)", report.Failure, StringComparison.Ordinal);
        Assert.Empty(events);
    }

    /// <summary>Progress that records on the reporting thread (Progress&lt;T&gt; posts to the thread pool).</summary>
    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
