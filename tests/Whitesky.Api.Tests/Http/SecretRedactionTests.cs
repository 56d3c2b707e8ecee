using Whitesky.Api.Models;
using Whitesky.Api.Tests.Peers;

namespace Whitesky.Api.Tests.Http;

/// <summary>JWTs, S3 secrets, PSKs, TPM secrets and passwords never reach ToString(), exception messages or logs.</summary>
public sealed class SecretRedactionTests : IAsyncLifetime
{
    private const string Psk = "5f4dcc3b5aa765d61d8327deb882cf99";
    private const string S3Secret = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY";
    private const string TpmSecret = "tpm-7d1a9c";
    private ScriptedHttpServer _server = null!;

    public async Task InitializeAsync() => _server = await ScriptedHttpServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public void Records_with_secrets_print_everything_but_the_secret()
    {
        var endpoint = new DiskExposureEndpoint { Address = "10.1.2.3", Port = 10809, Name = "disk-9", User = "ident-9", Psk = Psk };
        var import = new ImportVmFromS3Request
        {
            Link = "http://s3.local", Key = "AKIAKEY", Secret = S3Secret, Region = "r", Bucket = "bkt", ObjectName = "vm.ova",
            Name = "vm", Description = "d", VCpus = 2, Memory = 2048, BootType = BootType.Bios, OsType = OsType.Linux, OsName = OsName.Debian10,
        };
        var export = new ExportVmToS3Request { Link = "http://s3.local", Key = "AKIAKEY", Secret = S3Secret, Region = "r", Bucket = "bkt", ObjectName = "out.ova" };
        var account = new VirtualMachineOsAccount { Login = "root", Password = "hunter2-password" };
        var create = new CreateVirtualMachineRequest { Name = "vm", Description = "d", VCpus = 1, Memory = 512, TpmSecret = TpmSecret, UserData = "password: hunter3" };
        var exposure = new DiskExposure { Protocol = "nbd", Endpoint = endpoint };

        Assert.Contains("10.1.2.3", endpoint.ToString(), StringComparison.Ordinal);
        Assert.Contains("ident-9", endpoint.ToString(), StringComparison.Ordinal);
        Assert.Contains("Psk = ***", endpoint.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Psk, exposure.ToString(), StringComparison.Ordinal);
        Assert.Contains("bkt", import.ToString(), StringComparison.Ordinal);
        Assert.Contains("Debian 10", import.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(S3Secret, import.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(S3Secret, export.ToString(), StringComparison.Ordinal);
        Assert.Contains("out.ova", export.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", account.ToString(), StringComparison.Ordinal);
        Assert.Contains("root", account.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(TpmSecret, create.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("hunter3", create.ToString(), StringComparison.Ordinal);
        Assert.Contains("Memory = 512", create.ToString(), StringComparison.Ordinal);

        // Value equality still sees the secret: two endpoints with different keys are different.
        Assert.NotEqual(endpoint, endpoint with { Psk = "other" });
    }

    [Fact]
    public async Task Secrets_echoed_by_the_platform_stay_out_of_exceptions_and_logs()
    {
        var jwt = TestJwt.Create(DateTimeOffset.UtcNow.AddHours(1));
        var answer = $$"""{"message": "bad request for token {{jwt}} with \"psk\": \"{{Psk}}\" and secret={{S3Secret}}"}""";
        _server.Handle(async (r, ctx) =>
        {
            if (r.Path.EndsWith("/exposed-disks", StringComparison.Ordinal) && r.Method == "POST")
            {
                await ScriptedHttpServer.WriteJsonAsync(ctx, 200, $$$"""{"protocol": "nbd", "endpoint": {"address": "127.0.0.1", "port": 1, "name": "n", "user": "u", "psk": "{{{Psk}}}"}}""");
                return;
            }

            await ScriptedHttpServer.WriteJsonAsync(ctx, 400, answer, new Dictionary<string, string> { ["X-Request-ID"] = "r-1" });
        });
        var logs = new CapturingLoggerProvider();
        var (client, services) = ClientFactory.Create(_server, o => o.Jwt = jwt, logs);
        await using var _ = services;

        var exposure = await client.ExposeDiskAsync(9);
        var e1 = await Assert.ThrowsAsync<WhiteskyApiException>(() => client.ImportVirtualMachineFromS3Async(new ImportVmFromS3Request
        {
            Link = "http://s3", Key = "k", Secret = S3Secret, Region = "r", Bucket = "b", ObjectName = "o",
            Name = "n", Description = "d", VCpus = 1, Memory = 1, BootType = BootType.Bios, OsType = OsType.Linux, OsName = OsName.LinuxOther,
        }));
        var e2 = await Assert.ThrowsAsync<WhiteskyApiException>(() => client.VirtualMachines.StartVirtualMachineAsync("cust-1", "cs-1", 5, null, TpmSecret));

        Assert.Equal(Psk, exposure.Endpoint!.Psk);
        Assert.Contains("token ***", e1.PlatformMessage, StringComparison.Ordinal);
        foreach (var text in new[] { e1.ToString(), e2.ToString(), e1.Message, string.Join('\n', logs.Lines) })
        {
            Assert.DoesNotContain(jwt, text, StringComparison.Ordinal);
            Assert.DoesNotContain(Psk, text, StringComparison.Ordinal);
            Assert.DoesNotContain(S3Secret, text, StringComparison.Ordinal);
            Assert.DoesNotContain(TpmSecret, text, StringComparison.Ordinal);
        }

        Assert.NotEmpty(logs.Lines);
        Assert.Contains(logs.Lines, l => l.Contains("/vms/5/start", StringComparison.Ordinal) && l.Contains("System.Net.Http.HttpClient", StringComparison.Ordinal));
        Assert.Contains(logs.Lines, l => l.Contains("startVirtualMachine", StringComparison.Ordinal));
        Assert.Equal("Bearer " + jwt, _server.Requests[0].Authorization);
        Assert.Contains(TpmSecret, _server.Requests[^1].Query, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_do_not_print_the_jwt()
    {
        var jwt = TestJwt.Create(DateTimeOffset.UtcNow.AddHours(1));
        var options = new WhiteskyClientOptions { Jwt = jwt, BaseUrl = new Uri("https://try.whitesky.cloud/api/1") };
        Assert.DoesNotContain(jwt, options.ToString(), StringComparison.Ordinal);
    }
}
