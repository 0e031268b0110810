namespace CqrsDapr.AppHost.Tests;

/// <summary>
/// The AppHost raises its soft limit of open files to the hard limit (<see cref="FileDescriptorLimit"/>, Linux), so
/// DCP and every resource inherit the most the system allows. Tried on this test process: its soft limit lowered
/// by one, then raised back.
/// </summary>
public sealed class FileDescriptorLimitTests
{
    [Fact]
    public void A_soft_limit_below_the_hard_limit_is_raised_to_it()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "RLIMIT_NOFILE is raised on Linux only");
        Assert.True(FileDescriptorLimit.TryGet(out _, out var hard, out _));
        Assert.SkipWhen(hard == ulong.MaxValue, "no hard limit");
        Assert.True(FileDescriptorLimit.TrySetSoft(hard - 1, out var errno), $"errno {errno}");
        try
        {
            var outcome = FileDescriptorLimit.Raise();

            Assert.Equal(new FileDescriptorLimit.Outcome(hard - 1, hard, hard, null), outcome);
            Assert.True(outcome.Raised);
            Assert.True(FileDescriptorLimit.TryGet(out var soft, out _, out _));
            Assert.Equal(hard, soft);
        }
        finally
        {
            FileDescriptorLimit.TrySetSoft(hard, out _);
        }
    }

    [Fact]
    public void A_soft_limit_at_the_hard_limit_stays_and_is_no_raise()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "RLIMIT_NOFILE is raised on Linux only");
        Assert.True(FileDescriptorLimit.TryGet(out _, out var hard, out _));
        Assert.True(FileDescriptorLimit.TrySetSoft(hard, out _));

        var outcome = FileDescriptorLimit.Raise();

        Assert.Equal(new FileDescriptorLimit.Outcome(hard, hard, hard, null), outcome);
        Assert.False(outcome.Raised);
    }
}
