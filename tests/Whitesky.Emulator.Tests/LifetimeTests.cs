namespace Whitesky.Emulator.Tests;

/// <summary>The emulator's own lifetime: its data folder, its port, what it shows of itself.</summary>
public class LifetimeTests
{
    [Fact]
    public async Task A_temporary_data_folder_goes_on_dispose_and_a_given_one_stays()
    {
        string temporary;
        await using (var emulator = await WhiteskyEmulator.StartAsync())
        {
            temporary = emulator.DataDirectory;
            using var http = new EmulatorHttp(emulator);
            await http.CreateDiskAsync();
            Assert.Single(Directory.GetFiles(Path.Combine(temporary, "disks")));
        }

        Assert.False(Directory.Exists(temporary));

        using var dir = new Whitesky.Nbd.Tests.Peers.TempDirectory();
        var given = Path.Combine(dir.Path, "data");
        await using (var emulator = await WhiteskyEmulator.StartAsync(new WhiteskyEmulatorOptions { DataDirectory = given }))
        {
            Assert.Equal(given, emulator.DataDirectory);
            using var http = new EmulatorHttp(emulator);
            await http.CreateDiskAsync();
        }

        Assert.Single(Directory.GetFiles(Path.Combine(given, "disks")));
    }

    [Fact]
    public async Task A_given_port_is_used_a_taken_one_fails_to_start_and_the_description_has_no_token()
    {
        await using var first = await WhiteskyEmulator.StartAsync();
        Assert.Equal($"http://127.0.0.1:{first.Port}/api/1", first.BaseUrl.ToString());
        Assert.Equal($"http://127.0.0.1:{first.Port}/iam", first.IamUrl.ToString());
        Assert.DoesNotContain(first.Jwt, first.ToString(), StringComparison.Ordinal);

        var error = await Assert.ThrowsAsync<IOException>(() => WhiteskyEmulator.StartAsync(new WhiteskyEmulatorOptions { Port = first.Port }));
        Assert.Contains(first.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), error.Message, StringComparison.Ordinal);
    }
}
