using System.Diagnostics;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Migrate.Tests.Native;

/// <summary>
/// The constructor linked into the native executable (samples/Whitesky.Migrate/Native/startup-advice.c) must leave
/// the program's zero-fill segment eligible for transparent huge pages. Proved on a small C program with a large
/// zero-fill segment, built with and without the constructor: the kernel's own smaps says which mapping is eligible.
/// </summary>
public sealed class StartupAdviceTests
{
    // Prints the THPeligible field of the mapping that holds the middle of a 16 MiB zero-initialised array.
    private const string Probe = """
        #include <stdint.h>
        #include <stdio.h>
        #include <string.h>
        static char zero_fill[16 << 20];
        int main(void)
        {
            uintptr_t probe = (uintptr_t)&zero_fill[8 << 20];
            FILE *smaps = fopen("/proc/self/smaps", "r");
            if (!smaps) return 2;
            char line[512];
            int inside = 0;
            while (fgets(line, sizeof line, smaps)) {
                unsigned long start, end;
                char tail;
                if (sscanf(line, "%lx-%lx %c", &start, &end, &tail) == 3) {
                    inside = probe >= start && probe < end;
                } else if (inside && strncmp(line, "THPeligible:", 12) == 0) {
                    fputs(line + 12, stdout);
                    return 0;
                }
            }
            return 3;
        }
        """;

    [Fact]
    public async Task The_constructor_makes_the_zero_fill_segment_eligible_for_huge_pages()
    {
        var clang = ExternalTool.Require("clang");
        var advice = Path.Combine(AppContext.BaseDirectory, "Native", "startup-advice.c");
        var mode = await File.ReadAllTextAsync("/sys/kernel/mm/transparent_hugepage/enabled");
        var directory = Directory.CreateTempSubdirectory("startup-advice-");
        try
        {
            var probe = Path.Combine(directory.FullName, "probe.c");
            await File.WriteAllTextAsync(probe, Probe);
            var with = Path.Combine(directory.FullName, "with-advice");
            var without = Path.Combine(directory.FullName, "without-advice");
            await RunAsync(clang, "-O2", "-Wall", "-Wextra", "-Werror", "-o", with, probe, advice);
            await RunAsync(clang, "-O2", "-Wall", "-Wextra", "-Werror", "-o", without, probe);

            // madvise mode (the usual default): only the advised program is eligible; always: both; never: neither.
            var advised = mode.Contains("[never]", StringComparison.Ordinal) ? "0" : "1";
            var unadvised = mode.Contains("[always]", StringComparison.Ordinal) ? "1" : "0";
            Assert.Equal(advised, (await RunAsync(with)).Trim());
            Assert.Equal(unadvised, (await RunAsync(without)).Trim());
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private static async Task<string> RunAsync(string program, params string[] args)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in args)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        Assert.True(process.ExitCode == 0, $"{Path.GetFileName(program)} {string.Join(' ', args)} exited with {process.ExitCode}: {await error}");
        return await output;
    }
}
