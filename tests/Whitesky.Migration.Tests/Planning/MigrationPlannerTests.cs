using Whitesky.Migration.Planning;

namespace Whitesky.Migration.Tests.Planning;

public class MigrationPlannerTests
{
    private static readonly PlanningAssumptions HundredMBps = new() { BandwidthBytesPerSecond = 100e6 };

    [Fact]
    public void A_large_quiet_disk_is_replicated_and_cut_over_inside_a_window_an_offline_copy_misses()
    {
        var estimate = MigrationPlanner.Estimate([new WorkloadProfile("db", 100L << 30, 1e6)], HundredMBps, TimeSpan.FromMinutes(15));

        var initial = (100L << 30) / 100e6; // 1073.74 s
        Assert.Equal(MigrationRecommendation.NearlyOnline, estimate.Recommendation);
        Assert.True(estimate.Converges);
        Assert.Equal(initial, estimate.InitialSync.TotalSeconds, 3);
        Assert.Equal(initial + 300, estimate.OfflineDowntime.TotalSeconds, 3);
        var pass = (0.01 * initial) + 5;
        Assert.Equal(pass, Assert.Single(estimate.Passes).TotalSeconds, 3);
        Assert.Equal((0.01 * pass) + 5, estimate.FinalSync.TotalSeconds, 3);
        Assert.Equal((0.01 * pass) + 5 + 180, estimate.NearlyOnlineDowntime!.Value.TotalSeconds, 3);
        Assert.Contains("cutover of about 3.1 min", estimate.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_disk_small_enough_to_copy_in_the_window_goes_offline()
    {
        var estimate = MigrationPlanner.Estimate([new WorkloadProfile("web", 10L << 30, 5e6)], HundredMBps, TimeSpan.FromMinutes(30));
        Assert.Equal(MigrationRecommendation.Offline, estimate.Recommendation);
        Assert.Equal(((10L << 30) / 100e6) + 300, estimate.OfflineDowntime.TotalSeconds, 3);
    }

    [Fact]
    public void Workloads_that_together_change_faster_than_the_link_never_converge()
    {
        var estimate = MigrationPlanner.Estimate(
            [new WorkloadProfile("a", 500L << 30, 60e6), new WorkloadProfile("b", 500L << 30, 50e6)], HundredMBps, TimeSpan.FromMinutes(30));
        Assert.Equal(MigrationRecommendation.NotFeasible, estimate.Recommendation);
        Assert.False(estimate.Converges);
        Assert.Null(estimate.NearlyOnlineDowntime);
        Assert.Empty(estimate.Passes);
        Assert.Contains("never catch up", estimate.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_window_shorter_than_the_fixed_cutover_steps_fits_nothing()
    {
        var estimate = MigrationPlanner.Estimate([new WorkloadProfile("a", 200L << 30, 1e6)], HundredMBps, TimeSpan.FromMinutes(1));
        Assert.Equal(MigrationRecommendation.NotFeasible, estimate.Recommendation);
        Assert.True(estimate.NearlyOnlineDowntime > TimeSpan.FromMinutes(3));
    }

    [Fact]
    public void Passes_shrink_geometrically_and_stop_at_the_limit_the_overhead_sets()
    {
        var assumptions = HundredMBps with { TargetPassDuration = TimeSpan.FromSeconds(1), PassOverhead = TimeSpan.FromSeconds(2) };
        var estimate = MigrationPlanner.Estimate([new WorkloadProfile("a", 1L << 40, 50e6)], assumptions, TimeSpan.FromHours(1));
        Assert.True(estimate.Passes.Count >= 3);
        for (var i = 1; i < estimate.Passes.Count; i++)
        {
            Assert.Equal((0.5 * estimate.Passes[i - 1].TotalSeconds) + 2, estimate.Passes[i].TotalSeconds, 3);
        }

        // The fixed point of t = 0.5 t + 2 is 4 s: passes stop once they no longer shrink by 5 %.
        Assert.InRange(estimate.Passes[^1].TotalSeconds, 4, 4.5);
    }
}
