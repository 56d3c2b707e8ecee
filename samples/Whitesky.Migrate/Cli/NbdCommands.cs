using System.CommandLine;

namespace Whitesky.Migrate.Cli;

/// <summary>The <c>nbd</c> command group: tools for Network Block Device exports.</summary>
internal static class NbdCommands
{
    public static Command Create(Option<bool> verbose)
    {
        var nbd = new Command("nbd", "Inspect NBD exports and copy disk images into them.");
        nbd.Subcommands.Add(NbdInfoCommand.Create(verbose));
        nbd.Subcommands.Add(CopyCommand.CreateNbdCopy(verbose));
        return nbd;
    }
}
